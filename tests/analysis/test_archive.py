"""The archive: checksums catch any change, archived runs refuse work, auto-archive at 30 days."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.analysis import write_verdict
from bridge.analysis.synthetic import Scenario, write_run
from bridge.archive import archive, auto_archive, ensure_writable, load_index, verify
from bridge.archive.auto import DAY_S
from bridge.cli import main
from bridge.errors import ArchiveError, InputError

DAY0 = 1_760_000_000.0


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _run(root: Path, name: str = "run-1", ended: float | None = None) -> Path:
    run = write_run(root / "runs" / name, Scenario(t0=(ended or DAY0) - 120.0))
    write_verdict(run)
    return run


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(args)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_archive_moves_freezes_and_indexes(tmp_path: Path) -> None:
    run = _run(tmp_path)
    aroot = tmp_path / "archive"
    rec = archive(
        run, conclusion="frontend needs a local retry queue", verified=True, root=aroot, clock=FakeClock(DAY0)
    )
    dest = aroot / rec["id"]
    assert not run.exists() and (dest / "MANIFEST.sha256").is_file()
    assert rec["strength"] == "strong" and rec["verified"] is True
    assert not (dest / "probe.csv").stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    index = load_index(aroot)
    assert [e["id"] for e in index["entries"]] == [rec["id"]]
    html = (aroot / "index.html").read_text()
    assert "frontend needs a local retry queue" in html and f'href="{rec["id"]}/report.html"' in html
    assert all(c.ok for c in verify(None, aroot).values())


def _archived(tmp_path: Path) -> tuple[Path, Path, str]:
    aroot = tmp_path / "archive"
    rec = archive(_run(tmp_path), conclusion="c", verified=False, root=aroot, clock=FakeClock(DAY0))
    return aroot, aroot / rec["id"], rec["id"]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    which=st.sampled_from(["probe.csv", "events.jsonl", "run.json", "verdict.json", "ARCHIVE.json", "MANIFEST.sha256"]),
    where=st.floats(0.0, 1.0),
    flip=st.integers(1, 255),
)
def test_tampering_with_any_byte_is_detected(
    tmp_path_factory: pytest.TempPathFactory, which: str, where: float, flip: int
) -> None:
    aroot, dest, eid = _archived(tmp_path_factory.mktemp("tamper"))
    target = dest / which
    data = bytearray(target.read_bytes())
    i = min(len(data) - 1, int(where * len(data)))
    data[i] ^= flip
    os.chmod(target, 0o644)
    target.write_bytes(bytes(data))
    assert not verify(eid, aroot)[eid].ok


def test_added_and_removed_files_are_detected(tmp_path: Path) -> None:
    aroot, dest, eid = _archived(tmp_path)
    os.chmod(dest, 0o755)
    (dest / "extra.txt").write_text("x")
    assert verify(eid, aroot)[eid].added == ["extra.txt"]
    (dest / "extra.txt").unlink()
    os.chmod(dest / "logs", 0o755)
    (dest / "drill.yaml").unlink()
    assert verify(eid, aroot)[eid].missing == ["drill.yaml"]


def test_archived_run_refuses_reanalysis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MQDRILL_REPORTS", str(tmp_path))
    run = _run(tmp_path)
    origin = run
    aroot, dest, _ = tmp_path / "archive", None, None
    rec = archive(run, conclusion="c", verified=True, root=aroot)
    dest = aroot / rec["id"]
    with pytest.raises(ArchiveError, match="archived"):
        ensure_writable(dest, aroot)
    with pytest.raises(ArchiveError, match="archived as"):
        ensure_writable(origin, aroot)
    code, _, err = _cli(["analyze", str(dest), "--archive-root", str(aroot)], capsys)
    assert code == 2 and "cannot be re-analysed" in err
    with pytest.raises(ArchiveError, match="already archived"):
        archive(dest, conclusion="again", verified=True, root=aroot)


def test_auto_archive_at_the_30_day_boundary(tmp_path: Path) -> None:
    ended = DAY0
    run = _run(tmp_path, "old", ended=ended)
    ended_at = json.loads((run / "run.json").read_text())["ended_at"]
    aroot = tmp_path / "archive"
    clock = FakeClock(ended_at + 30 * DAY_S - 1)
    assert auto_archive(reports=tmp_path, archive_at=aroot, clock=clock) == []
    assert run.exists()
    clock.now = ended_at + 30 * DAY_S
    done = auto_archive(reports=tmp_path, archive_at=aroot, clock=clock)
    assert [e["conclusion"] for e in done] == ["auto-archived"] and done[0]["auto"] is True
    assert not run.exists()
    assert auto_archive(reports=tmp_path, archive_at=aroot, clock=clock) == []


def test_auto_archive_days_are_configurable(tmp_path: Path) -> None:
    run = _run(tmp_path, "r")
    ended_at = json.loads((run / "run.json").read_text())["ended_at"]
    clock = FakeClock(ended_at + 7 * DAY_S)
    assert auto_archive(reports=tmp_path, archive_at=tmp_path / "a", days=8, clock=clock) == []
    assert len(auto_archive(reports=tmp_path, archive_at=tmp_path / "a", days=7, clock=clock)) == 1


def test_cli_archive_list_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _run(tmp_path)
    aroot = str(tmp_path / "archive")
    code, out, _ = _cli(
        ["archive", str(run), "--conclusion", "weak as hoped", "--verified", "yes", "--archive-root", aroot],
        capsys,
    )
    assert code == 0 and "archived" in out
    code, out, _ = _cli(["archive", "list", "--archive-root", aroot], capsys)
    assert code == 0 and "weak as hoped" in out and "verified" in out
    code, out, _ = _cli(["archive", "verify", "--archive-root", aroot], capsys)
    assert code == 0 and ": ok" in out
    probe = Path(aroot) / "run-1" / "probe.csv"
    os.chmod(probe, 0o644)
    probe.write_text(probe.read_text() + "1,1,1,1,add_to_cart,rocketmq,200,\n")
    code, out, err = _cli(["archive", "verify", "run-1", "--archive-root", aroot], capsys)
    assert code == 2 and "changed: probe.csv" in out and "changed" in err


def test_cli_archive_needs_conclusion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _run(tmp_path)
    code, _, err = _cli(["archive", str(run), "--archive-root", str(tmp_path / "a")], capsys)
    assert code == 2 and "--conclusion" in err
    with pytest.raises(InputError, match="neither a run"):
        archive(tmp_path, conclusion="x", verified=True, root=tmp_path / "a")
