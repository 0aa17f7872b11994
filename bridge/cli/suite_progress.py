"""The live view of a suite: per drill phase, countdown and live SLO; overall done / running /
left, elapsed and an estimated end."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from bridge.analysis.wording import ms, pct
from bridge.runner.ports import Progress
from bridge.suite.suitedir import DrillOutcome


class SuiteProgress:
    def __init__(self, keys: list[str], planned_s: dict[str, float], stream: TextIO = sys.stderr) -> None:
        self.keys, self.planned_s, self.stream = keys, planned_s, stream
        self.state: dict[str, Progress] = {}
        self.done: dict[str, str] = {}
        self.started = time.monotonic()
        self.lock = threading.Lock()
        self.tty = stream.isatty()
        self._last_render = 0.0
        self._phases: dict[str, str] = {}

    def on_progress(self, key: str, p: Progress) -> None:
        with self.lock:
            self.state[key] = p
            changed = self._phases.get(key) != p.phase
            self._phases[key] = p.phase
        if not self.tty:
            if changed:
                self.stream.write(f"{key}: {p.phase}\n")
                self.stream.flush()
            return
        now = time.monotonic()
        if now - self._last_render >= 0.5:
            self._last_render = now
            self.render()

    def on_done(self, outcome: DrillOutcome) -> None:
        with self.lock:
            self.done[outcome.key] = outcome.status
            self.state.pop(outcome.key, None)
        strengths = ", ".join(str(v.get("strength")) for v in outcome.verdicts) or "-"
        self.stream.write(
            f"{'' if not self.tty else chr(13) + chr(27) + '[2K'}done {outcome.key}: {outcome.status}, "
            f"verdict {strengths} (expected {outcome.expected})\n"
        )
        self.stream.flush()

    def eta_s(self) -> float:
        left = [k for k in self.keys if k not in self.done]
        running = sum(self.state[k].remaining_s for k in left if k in self.state)
        waiting = sum(self.planned_s.get(k, 0.0) for k in left if k not in self.state)
        return running + waiting

    def render(self) -> None:
        with self.lock:
            running = {k: p for k, p in self.state.items()}
            done = len(self.done)
        elapsed = time.monotonic() - self.started
        parts = [
            f"[{done} done / {len(running)} running / {len(self.keys) - done - len(running)} left, "
            f"{elapsed:.0f}s elapsed, ~{self.eta_s():.0f}s to go]"
        ]
        for key, p in running.items():
            slo = ""
            if p.stats is not None and p.stats.success_ratio is not None:
                slo = f" ok {pct(p.stats.success_ratio)}"
                if p.stats.p95_ms is not None:
                    slo += f" p95 {ms(p.stats.p95_ms)}"
            parts.append(f"{key}: {p.phase} {p.remaining_s:.0f}s{slo}")
        self.stream.write("\r\x1b[2K" + " | ".join(parts)[:400])
        self.stream.flush()
