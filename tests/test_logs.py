"""Log collection over a drill's span: appended bytes only, rotations, masking, signatures."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from bridge.collectors.logs import LogCollector, LogSource


def append(path: Path, text: str | bytes) -> None:
    with open(path, "ab") as f:
        f.write(text.encode() if isinstance(text, str) else text)


def collect(tmp_path: Path, sources: list[LogSource], during: list[tuple[Path, str]]) -> LogCollector:
    collector = LogCollector(sources, tmp_path / "run" / "logs", clock=lambda: 1_800_000_000.0)
    collector.start()
    for path, text in during:
        append(path, text)
    return collector


def test_only_what_was_appended_during_the_span_is_copied_with_secrets_masked(tmp_path: Path) -> None:
    log = tmp_path / "frontend.log"
    append(log, "2024-05-01 11:59:59,000 INFO before the drill password=old\n")
    collector = collect(
        tmp_path,
        [LogSource("frontend", log)],
        [(log, "2024-05-01 12:00:00,000 ERROR java.net.ConnectException: refused, password=hunter22\n")],
    )
    append(log, b"2024-05-01 12:00:01,000 WARN raw \xff\xfe bytes\n")
    (result,) = collector.stop()
    out = (tmp_path / "run" / "logs" / "frontend.log").read_bytes()
    assert out == (
        b"2024-05-01 12:00:00,000 ERROR java.net.ConnectException: refused, password=***\n"
        b"2024-05-01 12:00:01,000 WARN raw \xff\xfe bytes\n"
    )
    assert (result.source, result.lines, result.notes) == ("frontend", 2, [])
    with open(tmp_path / "run" / "logs" / "signatures.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["source"], r["signature"], r["count"]) for r in rows] == [("frontend", "java.net.ConnectException", "1")]


def test_a_file_renamed_away_is_followed_by_its_inode(tmp_path: Path) -> None:
    log = tmp_path / "broker_default.log"
    append(log, "old line\n")
    collector = collect(tmp_path, [LogSource("broker", log)], [(log, "first half\n")])
    os.rename(log, tmp_path / "broker_default.1.log")  # logback FixedWindowRollingPolicy
    append(tmp_path / "broker_default.1.log", "late write to the old file\n")
    append(log, "second half\n")
    (result,) = collector.stop()
    assert result.path.read_text() == "first half\nlate write to the old file\nsecond half\n"
    assert result.notes == [f"{log}: rotated to broker_default.1.log during the span; copied both"]


def test_a_file_truncated_in_place_is_read_from_its_start(tmp_path: Path) -> None:
    log = tmp_path / "cart.log"
    append(log, "x" * 100 + "\n")
    collector = collect(tmp_path, [LogSource("cartservice", log)], [])
    with open(log, "r+b") as f:  # logrotate copytruncate
        f.truncate(0)
    append(log, "after truncation\n")
    (result,) = collector.stop()
    assert result.path.read_text() == "after truncation\n"
    assert "truncated" in result.notes[0]


def test_files_created_or_missing_during_the_span(tmp_path: Path) -> None:
    new = tmp_path / "new.log"
    gone = tmp_path / "gone.log"
    append(gone, "there at the start\n")
    collector = collect(
        tmp_path, [LogSource("new", new), LogSource("gone", gone), LogSource("never", tmp_path / "x")], []
    )
    append(new, "token: abcdef123456\n")
    gone.unlink()
    results = {r.source: r for r in collector.stop()}
    assert results["new"].path.read_text() == "token: ***\n"
    assert results["gone"].path.read_bytes() == b"" and "missing" in results["gone"].notes[0]
    assert results["never"].path.read_bytes() == b"" and results["never"].notes == []


def test_a_size_cap_bounds_the_copy(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    log.write_text("")
    collector = LogCollector([LogSource("big", log)], tmp_path / "logs", max_bytes=50)
    collector.start()
    append(log, "0123456789\n" * 10)
    (result,) = collector.stop()
    assert result.path.read_text() == "0123456789\n" * 4 and result.bytes_copied == 44
    assert "stopped at 50 bytes" in result.notes[0]


def test_stack_trace_lines_count_at_their_record_time(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("")
    collector = collect(
        tmp_path,
        [LogSource("app", log)],
        [
            (
                log,
                "2024-05-01T12:00:00Z ERROR boom\n"
                "Traceback (most recent call last):\n"
                "ConnectionRefusedError: refused\n",
            )
        ],
    )
    collector.stop()
    rows = (tmp_path / "run" / "logs" / "signatures.csv").read_text().splitlines()
    assert rows[1:] == ["1714564800,app,ConnectionRefusedError,1"]


def test_rocketmq_gmt8_timestamps_count_at_their_true_time(tmp_path: Path) -> None:
    log = tmp_path / "broker_default.log"
    log.write_text("")
    collector = collect(
        tmp_path,
        [LogSource("broker", log)],
        [(log, "2024-05-01 20:00:00 WARN main - org.apache.rocketmq.remoting.exception.RemotingConnectException\n")],
    )
    true = 1714564800  # 2024-05-01 12:00:00 UTC, which RocketMQ's logback writes as 20:00:00 (GMT+8)
    os.utime(log, (true + 2, true + 2))
    collector.stop()
    rows = (tmp_path / "run" / "logs" / "signatures.csv").read_text().splitlines()
    assert rows[1:] == [f"{true},broker,org.apache.rocketmq.remoting.exception.RemotingConnectException,1"]
