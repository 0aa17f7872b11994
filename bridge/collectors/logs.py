"""Collect what local log files gained during a drill into ``logs/<source>.log``, secrets masked.

At :meth:`LogCollector.start` each file's identity (device, inode) and size are noted; at
:meth:`LogCollector.stop` the bytes appended since are copied, line by line through the masker,
and their error signatures counted into ``logs/signatures.csv``. Content is treated as bytes
(undecodable bytes pass through unchanged), so any line format is fine. Rotation:

- renamed away (logback, logrotate ``create``): the original is found again by its inode in the
  same folder and read from the noted offset to its end, then the new file from its start;
- truncated in place (``copytruncate``): the file is read from its start, and a note says the
  bytes between the mark and the truncation went to the rotated copy;
- created during the drill: read whole. Compressed or deleted rotations cannot be followed (noted).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import BinaryIO

from bridge.collectors.masking import Masker
from bridge.collectors.signatures import SignatureCounter, infer_zone

DEFAULT_MAX_BYTES = 256 * 1024 * 1024  # per source: a runaway log must not fill the run directory
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class LogSource:
    source: str  # frontend, cartservice, broker, …: names the output file
    path: Path
    tz: tzinfo | None = None  # zone of timestamps written without one; None: inferred from the file


@dataclass(frozen=True)
class _Mark:
    existed: bool
    dev: int = 0
    ino: int = 0
    offset: int = 0


@dataclass
class CollectedLog:
    """What was copied for one source, and anything a reader should know about it."""

    source: str
    path: Path
    bytes_copied: int = 0
    lines: int = 0
    notes: list[str] = field(default_factory=list)


class LogCollector:
    """Marks log files at the start of a drill's span and copies what they gained at its end."""

    def __init__(
        self,
        sources: Sequence[LogSource],
        logs_dir: Path,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        counter: SignatureCounter | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sources = tuple(sources)
        self.logs_dir = logs_dir
        self.max_bytes = max_bytes
        self.counter = counter or SignatureCounter()
        self._clock = clock
        self._marks: dict[LogSource, _Mark] = {}

    def start(self) -> None:
        for src in self.sources:
            try:
                st = os.stat(src.path)
            except FileNotFoundError:
                self._marks[src] = _Mark(existed=False)
            else:
                self._marks[src] = _Mark(True, st.st_dev, st.st_ino, st.st_size)

    def stop(self) -> list[CollectedLog]:
        """Copy every source's span into ``logs/``, write ``logs/signatures.csv``; return what was done."""
        if not self._marks and self.sources:
            raise RuntimeError("log collection not started")
        self.logs_dir.mkdir(parents=True, exist_ok=True)
        collected_at = self._clock()
        results: dict[str, CollectedLog] = {}
        for src in self.sources:
            name = _SAFE_NAME.sub("_", src.source) or "log"
            result = results.get(name)
            if result is None:
                result = results[name] = CollectedLog(src.source, self.logs_dir / f"{name}.log")
                result.path.write_bytes(b"")
            self._copy_source(src, self._marks[src], result, collected_at)
        self.counter.write_csv(self.logs_dir / "signatures.csv")
        return list(results.values())

    def _copy_source(self, src: LogSource, mark: _Mark, result: CollectedLog, collected_at: float) -> None:
        masker = Masker()
        with open(result.path, "ab") as out:
            for path, start, end in self._segments(src, mark, result):
                self.counter.new_stream(src.source)
                tz = src.tz or _file_zone(path)
                for raw in _lines(path, start, end):
                    if result.bytes_copied + len(raw) > self.max_bytes:
                        result.notes.append(f"{src.path}: stopped at {self.max_bytes} bytes")
                        return
                    text = masker(raw.decode("utf-8", errors="surrogateescape"))
                    out.write(text.encode("utf-8", errors="surrogateescape"))
                    self.counter.feed(src.source, text, collected_at, tz=tz)
                    result.bytes_copied += len(raw)
                    result.lines += 1

    def _segments(self, src: LogSource, mark: _Mark, result: CollectedLog) -> list[tuple[Path, int, int]]:
        """(file, from, to) byte ranges to copy, oldest first; sizes read now bound the copy."""
        current = _stat(src.path)
        if not mark.existed:
            return [] if current is None else [(src.path, 0, current.st_size)]
        if current is not None and (current.st_dev, current.st_ino) == (mark.dev, mark.ino):
            if current.st_size >= mark.offset:
                return [(src.path, mark.offset, current.st_size)]
            result.notes.append(f"{src.path}: truncated during the span (copytruncate?); copied from its start")
            return [(src.path, 0, current.st_size)]
        segments: list[tuple[Path, int, int]] = []
        rotated = _find_inode(src.path.parent, mark.dev, mark.ino)
        if rotated is not None:
            segments.append((rotated, mark.offset, max(mark.offset, rotated.stat().st_size)))
            result.notes.append(f"{src.path}: rotated to {rotated.name} during the span; copied both")
        else:
            result.notes.append(f"{src.path}: rotated away (compressed or deleted?); its tail is missing")
        if current is not None:
            segments.append((src.path, 0, current.st_size))
        return segments


def _file_zone(path: Path, tail_bytes: int = 64 * 1024) -> tzinfo | None:
    """:func:`infer_zone` over the file's last lines and its modification time."""
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - tail_bytes))
            tail = f.read().decode("utf-8", errors="replace").splitlines()[-200:]
            written_at = os.fstat(f.fileno()).st_mtime
    except OSError:
        return None
    return infer_zone(tail, written_at)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _find_inode(folder: Path, dev: int, ino: int) -> Path | None:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return None
    for entry in entries:
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (dev, ino) and entry.is_file(follow_symlinks=False):
            return Path(entry.path)
    return None


def _lines(path: Path, start: int, end: int) -> Iterator[bytes]:
    """Lines (with their endings) of ``path`` between byte offsets; a partial last line is yielded as is."""
    if end <= start:
        return
    with open(path, "rb") as f:
        f.seek(start)
        yield from _bounded_lines(f, end - start)


def _bounded_lines(f: BinaryIO, budget: int) -> Iterator[bytes]:
    while budget > 0:
        line = f.readline(min(budget, 1024 * 1024))  # very long lines come out in 1 MiB pieces
        if not line:
            return
        budget -= len(line)
        yield line
