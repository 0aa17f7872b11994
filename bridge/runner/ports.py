"""What the runner needs from the outside, as small protocols, so the lifecycle can be tested
with fakes (a fake clock, a fake engine, a fake probe) and run for real with the real parts."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bridge.engines.base import Engine
from bridge.spec.models import Drill


@dataclass(frozen=True)
class LiveStats:
    """The business over a recent window, for progress and the guard."""

    count: int
    success_ratio: float | None
    p95_ms: float | None


class ProbeHandle(Protocol):
    def start(self) -> None: ...

    def stats(self, window_s: float) -> LiveStats: ...

    def check_s(self) -> float:
        """How long the steady-state check needs to see enough samples."""
        ...

    def begin_baseline(self) -> None:
        """The warm-up is over: what completed so far is not judged by :meth:`check`."""
        ...

    def check(self) -> str | None:
        """None when the SLO held over everything probed since :meth:`begin_baseline`, else why not."""
        ...

    def stop(self) -> None: ...


class Collector(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Progress:
    """What the terminal shows once a second."""

    phase: str
    remaining_s: float
    stats: LiveStats | None
    note: str = ""


@dataclass
class RunnerDeps:
    """The parts a drill run uses; `bridge.runner.wiring` builds the real ones."""

    engine_for: Callable[[str], Engine]
    probe_for: Callable[[Drill, Path], ProbeHandle]
    # None when the targets are there and healthy, else why not. The steady-state half of the
    # preflight runs on the probe itself, over the first seconds of the baseline (ProbeHandle.check).
    preflight: Callable[[Drill], str | None]
    collectors_for: Callable[[Drill, Path], list[Collector]] = field(default=lambda d, p: [])
    # Sets the environment up as the drill asks (e.g. the application's protections) before the
    # preflight; returns facts for run.json (e.g. {"protections_on": [...]}).
    prepare: Callable[[Drill], dict[str, Any]] = field(default=lambda d: {})
    after_run: Callable[[Path], None] | None = None  # analysis + report, when installed
    clock: Callable[[], float] = field(default=__import__("time").time)
    sleep: Callable[[float], None] = field(default=__import__("time").sleep)
    progress: Callable[[Progress], None] = field(default=lambda p: None)
    tick_s: float = 1.0
    # Set by a suite (or any caller) to stop this drill from another thread: the drill unwinds
    # and recovers as on SIGINT. Signals reach only the main thread; drills in worker threads
    # learn of them through this.
    cancel: threading.Event | None = None
