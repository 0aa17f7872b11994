"""Probe rows and the ``probe.csv`` writer (run-directory contract v1).

Rows are appended in completion order (not sorted by ``t``) by a writer thread that flushes
every half second, so a SIGKILL loses at most the rows that completed in the last second.
"""

from __future__ import annotations

import csv
import io
import queue
import threading
import time
from collections.abc import Mapping, Sequence
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
    extra: Mapping[str, str] | None = None  # a kind's own columns (declared by its extra_columns())

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

    def __init__(self, path: Path, extra_columns: Sequence[str] = ()) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.extra_columns = tuple(c for c in dict.fromkeys(extra_columns) if c not in HEADER)
        self._file: TextIO = open(path, "a", newline="", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._writer = csv.writer(self._file, lineterminator="\n")
        if self._file.tell() == 0:
            self._writer.writerow(HEADER + self.extra_columns)
            self._file.flush()
        self.rows_written = 0

    def write(self, row: ProbeRow) -> None:
        cells = row.cells()
        if self.extra_columns:
            extra = row.extra or {}
            cells += tuple(short_error(extra.get(c, "")) for c in self.extra_columns)
        self._writer.writerow(cells)
        self.rows_written += 1

    def flush(self) -> None:
        # flush() hands the bytes to the kernel: they survive a SIGKILL of this process.
        if not self._file.closed:
            self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            self._file.close()


class BackgroundCsvSink:
    """A :class:`CsvSink` fed through a queue and written by its own thread, flushed every ``flush_every_s``.

    The probe's event loop only enqueues, so a slow disk (dirty-page throttling on a busy
    machine) never delays a scheduled send. A SIGKILL loses what was queued or unflushed:
    at most ``flush_every_s`` worth of rows plus the write in progress.
    """

    def __init__(self, path: Path, *, flush_every_s: float = 0.5, extra_columns: Sequence[str] = ()) -> None:
        self._sink = CsvSink(path, extra_columns)
        self._queue: queue.SimpleQueue[ProbeRow | None] = queue.SimpleQueue()
        self._flush_every_s = flush_every_s
        self._thread = threading.Thread(target=self._run, name="mqdrill-probe-csv", daemon=True)
        self._thread.start()
        self.path = path

    @property
    def rows_written(self) -> int:
        return self._sink.rows_written

    def write(self, row: ProbeRow) -> None:
        self._queue.put(row)

    def close(self) -> None:
        """Write everything queued, flush, close (idempotent)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        self._sink.close()

    def _run(self) -> None:
        next_flush = time.monotonic() + self._flush_every_s
        while True:
            try:
                row = self._queue.get(timeout=max(0.0, next_flush - time.monotonic()))
            except queue.Empty:
                row = _TICK
            if row is None:
                self._sink.flush()
                return
            if row is not _TICK:
                self._sink.write(row)
            if time.monotonic() >= next_flush:
                self._sink.flush()
                next_flush = time.monotonic() + self._flush_every_s


_TICK = ProbeRow(0.0, None, None, False, "", "")  # marks "no row, time to look at the clock"


def read_rows(text: str | Path) -> list[dict[str, str]]:
    """Rows of a ``probe.csv`` as dicts (for tests and quick looks); checks the header starts with the contract's."""
    content = text.read_text(encoding="utf-8") if isinstance(text, Path) else text
    reader = csv.DictReader(io.StringIO(content))
    if tuple(reader.fieldnames or ())[: len(HEADER)] != HEADER:
        raise ValueError(f"probe.csv header is {reader.fieldnames!r}, expected {list(HEADER)!r} first")
    return list(reader)
