"""The probe seen from the runner's main thread: start, read live stats, stop.

The probes run in their own asyncio loop (:class:`bridge.probes.host.ProbeHost`) in a daemon
thread, so the runner's main thread stays free for signals, the guard and the progress display.
:func:`steady_state_check` is the preflight: a short probe judged against each operation's objective.
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
from bridge.probes.host import ProbeHost
from bridge.probes.openloop import Outcome
from bridge.probes.probeset import ProbeSet
from bridge.probes.rows import BackgroundCsvSink
from bridge.probes.stats import LiveStats, ProbeStats
from bridge.spec.models import Slo


def as_probe_set(probes: ProbeSet | ProbeConfig, slo: Slo | None = None) -> ProbeSet:
    return probes.probe_set(slo) if isinstance(probes, ProbeConfig) else probes


class ProbeRunner:
    """The drill's probes in a background thread, writing ``probe.csv`` (when a path is given)."""

    def __init__(self, probes: ProbeSet | ProbeConfig, csv_path: Path | None = None) -> None:
        self.probes = as_probe_set(probes)
        self.csv_path = csv_path
        self._stats = LiveStats()
        self._sink: BackgroundCsvSink | None = None
        self._host: ProbeHost | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._start_error: str | None = None
        self._crash: BaseException | None = None

    def start(self, *, ready_timeout_s: float | None = None) -> str:
        """Start probing; return what setup found (e.g. the shop's product id).

        Raises :class:`EnvironmentError_` if a probe cannot start (its application is unreachable).
        """
        if self._thread is not None:
            raise RuntimeError("probe already started")
        p = self.probes
        extra = [c for d in p.declarations for c in d.extra_columns()]
        self._sink = BackgroundCsvSink(self.csv_path, extra_columns=extra) if self.csv_path is not None else None
        self._host = ProbeHost(p.declarations, run_id=p.run_id, channel=p.channel, stats=self._stats, sink=self._sink)
        self._thread = threading.Thread(target=self._thread_main, name="mqdrill-probe", daemon=True)
        self._thread.start()
        wait = p.start_bound_s if ready_timeout_s is None else ready_timeout_s
        if not self._ready.wait(wait):
            self.stop()
            raise EnvironmentError_(f"probe did not start within {wait:g}s")
        if self._start_error is not None:
            self._thread.join()
            self._close_sink()
            raise EnvironmentError_(f"probe cannot start: {self._start_error}")
        return self._host.outcome.product_id or self._host.outcome.ready

    def stats(self, window_s: float = 10.0) -> ProbeStats:
        """Per-operation success ratio and latency over the last ``window_s`` seconds (``inf``: all)."""
        return self._stats.snapshot(window_s, time.time())

    def judge_from_now(self) -> None:
        """Leave the rows completed so far (the warm-up) out of :meth:`judged_stats`, except the
        read-back history of the operations that have one."""
        self._stats.judge_from(time.time(), self.probes.history_operations())

    def judged_stats(self) -> ProbeStats:
        """The rows the preflight judges: since :meth:`judge_from_now` (all rows before it is called)."""
        return self._stats.judged(time.time())

    def stop(self, *, drain_s: float | None = None) -> Outcome:
        """Stop scheduling, let flows in flight finish (at most ``drain_s``, default their own bound), close the CSV."""
        host, thread, loop = self._host, self._thread, self._loop
        if host is None or thread is None:
            raise RuntimeError("probe not started")
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop already finished (start failure)
                loop.call_soon_threadsafe(host.request_stop, drain_s)
        bound = host.flow_bound_s + 5.0 if drain_s is None else drain_s + 5.0
        thread.join(bound)
        self._close_sink()
        if self._crash is not None:
            raise RuntimeError(f"probe loop failed: {self._crash!r}") from self._crash
        return host.outcome

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
        assert self._host is not None
        self._loop = asyncio.get_running_loop()
        await self._host.run(on_ready=self._on_ready)

    def _on_ready(self, found: str | None, error: str | None) -> None:
        if not self._ready.is_set():
            self._start_error = error
            self._ready.set()

    def _close_sink(self) -> None:
        # Rows the loop might still emit after this (only if it failed to drain in time) are dropped.
        if self._sink is not None:
            self._sink.close()


@dataclass(frozen=True)
class SteadyStateCheck:
    """The preflight's answer: whether the objectives held, why not, and the figures it judged."""

    held: bool
    reasons: tuple[str, ...]
    stats: ProbeStats | None


def preflight_duration_s(probes: ProbeSet | ProbeConfig, slo: Slo | None = None) -> float:
    """Long enough to collect every operation's ``min_samples``, at least 3 s."""
    p = as_probe_set(probes, slo)
    need = max(p.max_min_samples, slo.min_samples if slo is not None else 0)
    return max(3.0, math.ceil(need / p.rate) + 1.0)


def steady_state_check(
    probes: ProbeSet | ProbeConfig, duration_s: float | None, slo: Slo | None = None, *, csv_path: Path | None = None
) -> SteadyStateCheck:
    """Probe for ``duration_s`` (None: :func:`preflight_duration_s`), drain, and judge each operation."""
    p = as_probe_set(probes, slo)
    duration = preflight_duration_s(p) if duration_s is None else duration_s
    runner = ProbeRunner(p, csv_path)
    try:
        runner.start()
    except EnvironmentError_ as exc:
        return SteadyStateCheck(False, (exc.message,), None)
    time.sleep(duration)
    runner.stop()
    stats = runner.stats(math.inf)
    return SteadyStateCheck(not (reasons := judge(stats, p)), tuple(reasons), stats)


def judge(stats: ProbeStats, probes: ProbeSet | ProbeConfig, slo: Slo | None = None) -> list[str]:
    """Reasons the objectives did not hold over ``stats`` (empty when they held).

    Success ratio applies to every operation; the p95 latency bound to "latency" operations (a
    "delay" operation's figure is the eventual delay, already judged per row against its bound).
    """
    reasons: list[str] = []
    for op, o in as_probe_set(probes, slo).objectives().items():
        figures = stats.op(op)
        if figures.count < o.min_samples:
            reasons.append(f"{op}: only {figures.count} samples, need {o.min_samples}")
            continue
        ratio = figures.success_ratio or 0.0
        if ratio < o.success_ratio_min:
            reasons.append(f"{op}: success ratio {ratio:.3f} < {o.success_ratio_min:g}")
        limit = o.latency_p95_ms_max
        if limit is not None and figures.p95_ms is not None and figures.p95_ms > limit:
            reasons.append(f"{op}: p95 latency {figures.p95_ms:.0f} ms > {limit:g} ms")
    if stats.overflow:
        reasons.append(f"{stats.overflow} requests refused: too many in flight")
    return reasons
