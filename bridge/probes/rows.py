"""Probe rows and the ``probe.csv`` writer (run-directory contract v1).

Rows are appended in completion order (not sorted by ``t``) and flushed by the owner at least
every second, so a SIGKILL loses at most the rows that completed in the last second.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

HEADER: tuple[str, ...] = ("t", "sent", "latency_ms", "ok", "op", "mode", "status", "error")
MAX_ERROR_CHARS = 160


@dataclass(frozen=True)
class ProbeRow:
    """One probe request's outcome.

    ``t`` is the intended send time (Unix seconds); ``sent`` the actual one, ``None`` when the
    request was never sent (refused for overflow); ``latency_ms`` is ``None`` when no answer came.
    """

    t: float
    sent: float | None
    latency_ms: float | None
    ok: bool
    op: str
    mode: str
    status: int | None = None
    error: str = ""

    def cells(self) -> tuple[str, ...]:
        return (
            f"{self.t:.6f}",
            "" if self.sent is None else f"{self.sent:.6f}",
            "" if self.latency_ms is None else f"{self.latency_ms:.3f}",
            "1" if self.ok else "0",
            self.op,
            self.mode,
            "" if self.status is None else str(self.status),
            short_error(self.error),
        )


def short_error(text: str) -> str:
    """One line, bounded length: CSV readers and humans both cope."""
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_ERROR_CHARS else flat[: MAX_ERROR_CHARS - 1] + "…"


class CsvSink:
    """Appends rows to ``probe.csv``; writes the header when the file is new or empty."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: TextIO = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._writer = csv.writer(self._file, lineterminator="\n")
        if self._file.tell() == 0:
            self._writer.writerow(HEADER)
            self._file.flush()
        self.rows_written = 0

    def write(self, row: ProbeRow) -> None:
        self._writer.writerow(row.cells())
        self.rows_written += 1

    def flush(self) -> None:
        # flush() hands the bytes to the kernel: they survive a SIGKILL of this process.
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            self._file.close()


def read_rows(text: str | Path) -> list[dict[str, str]]:
    """Rows of a ``probe.csv`` as dicts (for tests and quick looks); checks the header."""
    content = text.read_text(encoding="utf-8") if isinstance(text, Path) else text
    reader = csv.DictReader(io.StringIO(content))
    if tuple(reader.fieldnames or ()) != HEADER:
        raise ValueError(f"probe.csv header is {reader.fieldnames!r}, expected {list(HEADER)!r}")
    return list(reader)
