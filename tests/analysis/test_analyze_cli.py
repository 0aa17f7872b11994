"""``mqdrill analyze``: writes verdict.json, prints it with --json, never crashes on a partial run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.analysis.synthetic import Scenario, write_run
from bridge.cli import main


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_analyze_json_prints_what_it_wrote(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = write_run(tmp_path / "run", Scenario())
    code, out, _ = _cli(["analyze", str(run), "--json"], capsys)
    assert code == 0
    assert json.loads(out) == json.loads((run / "verdict.json").read_text())
    assert json.loads(out)["verdicts"][0]["strength"] == "strong"


def test_analyze_crashed_run_says_inconclusive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = write_run(tmp_path / "run", Scenario(crash_at=70.0))
    (run / "run.json").unlink()
    code, out, _ = _cli(["analyze", str(run)], capsys)
    assert code == 0 and "inconclusive" in out and "recovery not judged" in out


def test_analyze_missing_directory_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _cli(["analyze", str(tmp_path / "nope")], capsys)
    assert code == 2 and "no such run directory" in err
