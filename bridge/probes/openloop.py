"""The open-loop scheduler: flow k is due at t0 + k/rate, whatever happened to earlier flows.

Each due flow becomes its own task (a kind's sequence of requests and follow-ups), so a stalled
server yields a steady stream of late answers and timeouts rather than fewer samples. When the
loop wakes late, it launches every flow that fell due meanwhile (catching up, recording each
one's lateness). Flows beyond the in-flight bound are refused and recorded as failures by the
kind's ``overflow`` callback, so even the bound never hides an outage. Every driver kind reuses
this class; it knows nothing of HTTP.
"""

from __future__ import annotations

import asyncio
import resource
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from bridge.probes.stats import LiveStats

MAX_SLEEP_S = 0.2  # the scheduler looks at its stop flag at least this often
Flow = Callable[[int, float, float], Coroutine[Any, Any, None]]  # (k, intended Unix t, actual send Unix t)


@dataclass
class Outcome:
    """What a finished probe did (filled in as it runs)."""

    product_id: str | None = None  # kept for the demo shop preset: its setup's captured product
    started_at: float | None = None
    stopped_at: float | None = None
    scheduled: int = 0
    rows: int = 0
    overflow: int = 0
    cancelled: int = 0  # flows still running after the drain bound (no row written for them)
    ready: str = ""  # what the probes' setup found, in words


class OpenLoop:
    """Schedules one driver's flows at ``rate`` per second until ``stopping()`` turns true."""

    def __init__(
        self,
        *,
        rate: float,
        in_flight_limit: int,
        stats: LiveStats,
        outcome: Outcome,
        wall: Callable[[float], float],
        stopping: Callable[[], bool],
        flow: Flow,
        overflow: Callable[[int, float], None],
    ) -> None:
        self.rate = rate
        self.in_flight_limit = in_flight_limit
        self.stats = stats
        self.outcome = outcome
        self.wall = wall
        self.stopping = stopping
        self.flow = flow
        self.overflow = overflow
        self.tasks: set[asyncio.Task[None]] = set()
        self.in_flight = 0

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.rate
        t0 = loop.time()
        k = 0
        while not self.stopping():
            now = loop.time()
            while t0 + k * period <= now:
                self._launch(k, t0 + k * period)
                k += 1
            await asyncio.sleep(min(MAX_SLEEP_S, t0 + k * period - loop.time()))

    def _launch(self, k: int, due_mono: float) -> None:
        self.outcome.scheduled += 1
        self.stats.scheduled += 1
        t = self.wall(due_mono)
        if self.in_flight >= self.in_flight_limit:
            self.outcome.overflow += 1
            self.stats.overflow += 1
            self.overflow(k, t)
            return
        self.in_flight += 1
        self.stats.in_flight += 1
        task = asyncio.create_task(self._timed(k, t))
        self.tasks.add(task)
        task.add_done_callback(self._done)

    async def _timed(self, k: int, t: float) -> None:
        sent = self.wall(asyncio.get_running_loop().time())
        self.stats.record_lateness((sent - t) * 1000.0, sent)
        await self.flow(k, t, sent)

    def _done(self, task: asyncio.Task[None]) -> None:
        self.tasks.discard(task)
        self.in_flight -= 1
        self.stats.in_flight -= 1


async def drain(tasks: set[asyncio.Task[None]], bound_s: float) -> int:
    """Wait for ``tasks`` at most ``bound_s``; cancel the rest and return how many were cancelled."""
    if not tasks:
        return 0
    _, pending = await asyncio.wait(set(tasks), timeout=bound_s)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    return len(pending)


def connection_limit(in_flight: int) -> int:
    """Sockets the pool may open: enough for every flow in flight, within the open-files limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    budget = max(64, soft // 2) if soft != resource.RLIM_INFINITY else in_flight
    return max(1, min(in_flight, budget))
