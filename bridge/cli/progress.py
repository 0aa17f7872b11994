"""Live progress on the terminal: phase, countdown, live success ratio and latency."""

from __future__ import annotations

import sys
from typing import TextIO

from bridge.analysis.wording import ms, pct
from bridge.runner.ports import Progress


class LineProgress:
    """One status line, rewritten in place on a terminal; phase changes only when piped."""

    def __init__(self, label: str, stream: TextIO = sys.stderr) -> None:
        self.label = label
        self.stream = stream
        self.tty = stream.isatty()
        self.last_phase = ""

    def __call__(self, p: Progress) -> None:
        stats = ""
        if p.stats is not None and p.stats.count:
            ratio, p95 = pct(p.stats.success_ratio), ms(p.stats.p95_ms)
            stats = f"  success {ratio}  p95 {p95}  ({p.stats.count} req/5s)"
        line = f"{self.label}  {p.phase:<9} {p.remaining_s:6.0f}s left{stats}{'  ' + p.note if p.note else ''}"
        if self.tty:
            self.stream.write("\r\x1b[2K" + line)
            self.stream.flush()
        elif p.phase != self.last_phase or p.note:
            self.stream.write(line + "\n")
            self.stream.flush()
        self.last_phase = p.phase

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
