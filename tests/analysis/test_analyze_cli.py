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


def test_analyze_a_suite_writes_each_verdict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bridge.analysis.synthetic import HEALTHY, Profile, write_suite

    drills = {
        "broker-down": Scenario(),
        "namesrv-down": Scenario(fault=[(30.0, HEALTHY)], expected="weak"),
        "slow-baseline": Scenario(baseline=[(60.0, Profile(success=0.9))]),
        "crashed": Scenario(crash_at=75.0),
    }
    suite = write_suite(tmp_path / "suite", drills)
    code, out, _ = _cli(["analyze", str(suite), "--json"], capsys)
    docs = json.loads(out)
    assert code == 0 and len(docs) == 4
    strengths = {Path(k).name: d["verdicts"][0]["strength"] for k, d in docs.items()}
    assert strengths == {
        "broker-down": "strong",
        "namesrv-down": "weak",
        "slow-baseline": "inconclusive",
        "crashed": "inconclusive",
    }
    assert all((suite / name / "verdict.json").is_file() for name in strengths)
