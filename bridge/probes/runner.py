"""The probe seen from the runner's main thread: start, read live stats, stop.

The probe runs its own asyncio loop in a daemon thread, so the runner's main thread stays free
for signals, the guard and the progress display. :func:`steady_state_check` is the preflight:
a short probe judged against the drill's SLO.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from bridge.errors import EnvironmentError_
from bridge.probes.config import ProbeConfig
from bridge.probes.openloop import OpenLoop, Outcome
from bridge.probes.rows import BackgroundCsvSink
from bridge.probes.stats import LiveStats, ProbeStats
from bridge.spec.models import Slo


class ProbeRunner:
    """Open-loop probe in a background thread, writing ``probe.csv`` (when a path is given)."""

    def __init__(self, config: ProbeConfig, csv_path: Path | None = None) -> None:
        self.config = config
        self.csv_path = csv_path
        self._stats = LiveStats()
        self._sink: BackgroundCsvSink | None = None
        self._probe: OpenLoop | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._start_error: str | None = None
        self._crash: BaseException | None = None

    def start(self, *, ready_timeout_s: float | None = None) -> str:
        """Start probing; return the product id used. Raises :class:`EnvironmentError_` if the shop is unreachable."""
        if self._thread is not None:
            raise RuntimeError("probe already started")
        self._sink = BackgroundCsvSink(self.csv_path) if self.csv_path is not None else None
        self._probe = OpenLoop(self.config, stats=self._stats, sink=self._sink)
        self._thread = threading.Thread(target=self._thread_main, name="mqdrill-probe", daemon=True)
        self._thread.start()
        wait = self.config.timeout_s + 5.0 if ready_timeout_s is None else ready_timeout_s
        if not self._ready.wait(wait):
            self.stop()
            raise EnvironmentError_(f"probe did not start within {wait:g}s")
        if self._start_error is not None:
            self._thread.join()
            self._close_sink()
            raise EnvironmentError_(f"probe cannot start: {self._start_error}")
        return self._probe.outcome.product_id or ""

    def stats(self, window_s: float = 10.0) -> ProbeStats:
        """Per-operation success ratio and latency over the last ``window_s`` seconds (``inf``: all)."""
        return self._stats.snapshot(window_s, time.time())

    def stop(self, *, drain_s: float | None = None) -> Outcome:
        """Stop scheduling, let flows in flight finish (at most ``drain_s``, default their own bound), close the CSV."""
        probe, thread, loop = self._probe, self._thread, self._loop
        if probe is None or thread is None:
            raise RuntimeError("probe not started")
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already finished (start failure)
                loop.call_soon_threadsafe(probe.request_stop, drain_s)
        bound = self.config.flow_bound_s + 5.0 if drain_s is None else drain_s + 5.0
        thread.join(bound)
        self._close_sink()
        if self._crash is not None:
            raise RuntimeError(f"probe loop failed: {self._crash!r}") from self._crash
        return probe.outcome

    def __enter__(self) -> ProbeRunner:
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to the main thread by stop()
            self._crash = exc
            self._on_ready(None, f"probe loop failed: {exc!r}")

    async def _main(self) -> None:
        assert self._probe is not None
        self._loop = asyncio.get_running_loop()
        await self._probe.run(on_ready=self._on_ready)

    def _on_ready(self, product: str | None, error: str | None) -> None:
        if not self._ready.is_set():
            self._start_error = error
            self._ready.set()

    def _close_sink(self) -> None:
        # Rows the loop might still emit after this (only if it failed to drain in time) are dropped.
        if self._sink is not None:
            self._sink.close()


@dataclass(frozen=True)
class SteadyStateCheck:
    """The preflight's answer: whether the SLO held, why not, and the figures it judged."""

    held: bool
    reasons: tuple[str, ...]
    stats: ProbeStats | None


def preflight_duration_s(config: ProbeConfig, slo: Slo) -> float:
    """Long enough to collect ``slo.min_samples`` per operation, at least 3 s."""
    return max(3.0, math.ceil(slo.min_samples / config.rate) + 1.0)


def steady_state_check(
    config: ProbeConfig, duration_s: float | None, slo: Slo, *, csv_path: Path | None = None
) -> SteadyStateCheck:
    """Probe for ``duration_s`` (None: :func:`preflight_duration_s`), drain, and judge against ``slo``.

    Success ratio applies to every operation; the p95 latency bound to ``add_to_cart`` (the
    ``cart_visible`` latency is the visibility delay, already judged against its own bound).
    """
    duration = preflight_duration_s(config, slo) if duration_s is None else duration_s
    runner = ProbeRunner(config, csv_path)
    try:
        runner.start()
    except EnvironmentError_ as exc:
        return SteadyStateCheck(False, (exc.message,), None)
    time.sleep(duration)
    runner.stop()
    stats = runner.stats(math.inf)
    return SteadyStateCheck(not (reasons := judge(stats, config, slo)), tuple(reasons), stats)


def judge(stats: ProbeStats, config: ProbeConfig, slo: Slo) -> list[str]:
    """Reasons the SLO did not hold over ``stats`` (empty when it held)."""
    reasons: list[str] = []
    for op in config.operations:
        figures = stats.op(op)
        if figures.count < slo.min_samples:
            reasons.append(f"{op}: only {figures.count} samples, need {slo.min_samples}")
            continue
        ratio = figures.success_ratio or 0.0
        if ratio < slo.success_ratio_min:
            reasons.append(f"{op}: success ratio {ratio:.3f} < {slo.success_ratio_min:g}")
        if op == "add_to_cart" and figures.p95_ms is not None and figures.p95_ms > slo.latency_p95_ms_max:
            reasons.append(f"{op}: p95 latency {figures.p95_ms:.0f} ms > {slo.latency_p95_ms_max:g} ms")
    if stats.overflow:
        reasons.append(f"{stats.overflow} requests refused: too many in flight")
    return reasons
