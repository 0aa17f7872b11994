"""The open-loop scheduler: flow k is due at t0 + k/rate, whatever happened to earlier flows.

Each due flow becomes its own task (add to cart, then optionally poll until the item is
visible), so a stalled server yields a steady stream of late answers and timeouts rather
than fewer samples. When the loop wakes late, it launches every flow that fell due meanwhile
(catching up, recording each one's lateness). Flows beyond the in-flight bound are refused
and recorded as failures, so even the bound never hides an outage.
"""

from __future__ import annotations

import asyncio
import itertools
import resource
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from bridge.probes.config import ProbeConfig
from bridge.probes.ops import Answer, add_to_cart, cart_has, fetch_product_id, get_cart
from bridge.probes.rows import ProbeRow
from bridge.probes.stats import LiveStats

MAX_SLEEP_S = 0.2  # the scheduler looks at its stop flag at least this often
ReadyCallback = Callable[[str | None, str | None], None]  # (product id, error)


class RowSink(Protocol):
    """Where finished rows go (e.g. :class:`bridge.probes.rows.BackgroundCsvSink`); must not block."""

    def write(self, row: ProbeRow) -> None: ...


@dataclass
class Outcome:
    """What a finished probe did (filled in as it runs)."""

    product_id: str | None = None
    started_at: float | None = None
    stopped_at: float | None = None
    scheduled: int = 0
    rows: int = 0
    overflow: int = 0
    cancelled: int = 0  # flows still running after the drain bound (no row written for them)


class OpenLoop:
    """One probe run inside an asyncio loop; :meth:`run` returns after ``stop`` is set and flows drained."""

    def __init__(self, config: ProbeConfig, *, stats: LiveStats, sink: RowSink | None) -> None:
        self.config = config
        self.stats = stats
        self.sink = sink
        self.outcome = Outcome()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._drain_s: float | None = None
        self._t0_mono = 0.0
        self._t0_wall = 0.0
        # Users are probe-<run>-<token>-<seq>: the token keeps two probes of one run (preflight, drill)
        # from ever sharing a cart, so a visible item always belongs to the request that added it.
        self.user_prefix = f"probe-{config.run_id}-{secrets.token_hex(3)}-"

    def request_stop(self, drain_s: float | None = None) -> None:
        """Stop scheduling new flows; wait at most ``drain_s`` for those in flight (default: their own bound).

        Call from the loop's thread, e.g. via ``call_soon_threadsafe``.
        """
        self._drain_s = drain_s
        self._stopping = True

    def wall(self, mono: float) -> float:
        """Unix time of a loop-clock instant; one anchor keeps rows free of wall-clock jumps."""
        return self._t0_wall + (mono - self._t0_mono)

    async def run(self, *, on_ready: ReadyCallback) -> Outcome:
        cfg = self.config
        connector = aiohttp.TCPConnector(limit=_connection_limit(cfg.in_flight_limit), limit_per_host=0)
        # No cookie jar: each probe user is independent, and the frontend must not tie them together.
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:
            try:
                product = cfg.product_id or await fetch_product_id(session, cfg.base_url, timeout_s=cfg.timeout_s)
            except LookupError as exc:
                on_ready(None, str(exc))
                return self.outcome
            self.outcome.product_id = product
            on_ready(product, None)
            await self._schedule(session, product)
            await self._drain(cfg.flow_bound_s + 1.0 if self._drain_s is None else self._drain_s)
        return self.outcome

    async def _schedule(self, session: aiohttp.ClientSession, product: str) -> None:
        loop = asyncio.get_running_loop()
        period = 1.0 / self.config.rate
        self._t0_mono = loop.time()
        self._t0_wall = time.time()
        self.outcome.started_at = self._t0_wall
        k = 0
        while not self._stopping:
            now = loop.time()
            while self._t0_mono + k * period <= now:
                self._launch(session, product, k, self._t0_mono + k * period)
                k += 1
            await asyncio.sleep(min(MAX_SLEEP_S, self._t0_mono + k * period - loop.time()))
        self.outcome.stopped_at = self.wall(loop.time())

    def _launch(self, session: aiohttp.ClientSession, product: str, k: int, due_mono: float) -> None:
        self.outcome.scheduled += 1
        self.stats.scheduled += 1
        t = self.wall(due_mono)
        if self.stats.in_flight >= self.config.in_flight_limit:
            self.outcome.overflow += 1
            self.stats.overflow += 1
            for op in self.config.operations:
                row = ProbeRow(t, None, None, False, op, self.config.channel, None, "overflow: too many in flight")
                self._emit(row)
            return
        self.stats.in_flight += 1
        task = asyncio.create_task(self._flow(session, product, k, t))
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.stats.in_flight -= 1

    async def _flow(self, session: aiohttp.ClientSession, product: str, k: int, t: float) -> None:
        cfg = self.config
        loop = asyncio.get_running_loop()
        sent = self.wall(loop.time())
        self.stats.record_lateness((sent - t) * 1000.0, sent)
        user = f"{self.user_prefix}{k}"
        try:
            add = await add_to_cart(
                session, cfg.base_url, user_id=user, product_id=product, channel=cfg.channel, timeout_s=cfg.timeout_s
            )
        except Exception as exc:  # noqa: BLE001 - a probe bug must still leave a row, never a silent gap
            add = Answer(False, None, f"probe error: {type(exc).__name__}", None)
        answered = loop.time()
        if "add_to_cart" in cfg.operations:
            self._emit(ProbeRow(t, sent, add.latency_ms, add.ok, "add_to_cart", cfg.channel, add.status, add.error))
        if not cfg.checks_visibility:
            return
        if not add.ok:
            error = f"add_to_cart failed: {add.error}"
            self._emit(ProbeRow(t, None, None, False, "cart_visible", cfg.channel, None, error))
            return
        await self._visibility(session, product, user, t, answered)

    async def _visibility(
        self, session: aiohttp.ClientSession, product: str, user: str, t: float, since: float
    ) -> None:
        cfg = self.config
        loop = asyncio.get_running_loop()
        deadline = since + cfg.visibility_s_max
        first_sent: float | None = None
        last: Answer | None = None
        for attempt in itertools.count():  # ends at the deadline
            delay = cfg.poll_delays_s[min(attempt, len(cfg.poll_delays_s) - 1)]
            if delay > 0:
                await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            first_sent = first_sent if first_sent is not None else self.wall(loop.time())
            try:
                poll = await get_cart(session, cfg.base_url, user_id=user, timeout_s=min(cfg.timeout_s, remaining))
            except Exception as exc:  # noqa: BLE001 - see _flow
                poll = Answer(False, None, f"probe error: {type(exc).__name__}", None)
            # A poll cut short by the bound says nothing about the shop: keep the last real answer.
            if last is None or poll.status is not None or remaining >= cfg.timeout_s:
                last = poll
            if poll.ok and cart_has(poll.body, product):
                delay_ms = (loop.time() - since) * 1000.0
                ok = delay_ms <= cfg.visibility_s_max * 1000.0
                error = "" if ok else f"visible after {delay_ms / 1000:.3f}s > {cfg.visibility_s_max:g}s"
                self._emit(ProbeRow(t, first_sent, delay_ms, ok, "cart_visible", cfg.channel, poll.status, error))
                return
        why = f"not visible within {cfg.visibility_s_max:g}s"
        if last is not None and last.error:
            why += f" (last poll: {last.error})"
        status = None if last is None else last.status
        self._emit(ProbeRow(t, first_sent, None, False, "cart_visible", cfg.channel, status, why))

    def _emit(self, row: ProbeRow) -> None:
        if self.sink is not None:
            self.sink.write(row)
        self.outcome.rows += 1
        self.stats.record(row, self.wall(asyncio.get_running_loop().time()))

    async def _drain(self, bound_s: float) -> None:
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=bound_s)
            for task in pending:
                task.cancel()
            self.outcome.cancelled = len(pending)
            if pending:
                await asyncio.wait(pending)


def _connection_limit(in_flight: int) -> int:
    """Sockets the pool may open: enough for every flow in flight, within the open-files limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    budget = max(64, soft // 2) if soft != resource.RLIM_INFINITY else in_flight
    return max(1, min(in_flight, budget))
