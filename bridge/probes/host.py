"""The host of a drill's probes: builds every declared kind, then runs them in one asyncio loop.

It is the :class:`bridge.probes.contract.ProbeEnv` the kinds see: one HTTP session (pooled,
no cookie jar), one wall-clock anchor (so every row's times share one clock), the row sink and
the live statistics, the open-loop schedulers it drains when the probe stops. Followers are
built first so each driver knows how long a flow with its follow-ups can take.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol, cast

from bridge.probes.contract import BuildContext, Driver, Follower, ProbeDeclaration, ProbeUnavailable
from bridge.probes.openloop import Flow, OpenLoop, Outcome, connection_limit, drain
from bridge.probes.registry import get_kind
from bridge.probes.rows import ProbeRow
from bridge.probes.stats import LiveStats

if TYPE_CHECKING:
    import aiohttp

ReadyCallback = Callable[[str | None, str | None], None]  # (what setup found, error)


class RowSink(Protocol):
    """Where finished rows go (e.g. :class:`bridge.probes.rows.BackgroundCsvSink`); must not block."""

    def write(self, row: ProbeRow) -> None: ...


def build_all(
    declarations: Sequence[ProbeDeclaration], *, run_id: str, channel: str
) -> tuple[list[Driver], dict[str, tuple[Follower, ...]]]:
    """Every declared probe built by its kind: the drivers, and the followers by the op they follow."""
    ctx = BuildContext(run_id=run_id, channel=channel, declarations=tuple(declarations))
    followers: dict[str, list[Follower]] = {}
    for decl in declarations:
        spec = get_kind(decl.kind)
        if spec.role == "follower":
            follower = cast(Follower, spec.build(decl, ctx))
            followers.setdefault(follower.after, []).append(follower)
    bounds = {op: max(f.bound_s for f in fs) for op, fs in followers.items()}
    ctx = BuildContext(run_id=run_id, channel=channel, declarations=tuple(declarations), follow_bound_s=bounds)
    drivers = [cast(Driver, get_kind(d.kind).build(d, ctx)) for d in declarations if get_kind(d.kind).role == "driver"]
    return drivers, {op: tuple(fs) for op, fs in followers.items()}


class ProbeHost:
    """One probe run inside an asyncio loop; :meth:`run` returns after a stop was requested and flows drained."""

    def __init__(
        self,
        declarations: Sequence[ProbeDeclaration],
        *,
        run_id: str,
        channel: str,
        stats: LiveStats,
        sink: RowSink | None,
    ) -> None:
        self.run_id = run_id
        self.channel = channel
        self.stats = stats
        self.sink = sink
        self.outcome = Outcome()
        self.drivers, self._followers = build_all(declarations, run_id=run_id, channel=channel)
        self._loops: list[OpenLoop] = []
        self._stopping = False
        self._drain_s: float | None = None
        self._session: aiohttp.ClientSession | None = None
        self._t0_mono = 0.0
        self._t0_wall = 0.0

    @property
    def flow_bound_s(self) -> float:
        return max((d.flow_bound_s for d in self.drivers), default=0.0)

    @property
    def in_flight_limit(self) -> int:
        return sum(d.in_flight_limit for d in self.drivers)

    @property
    def stopping(self) -> bool:
        return self._stopping

    def request_stop(self, drain_s: float | None = None) -> None:
        """Stop scheduling new flows; wait at most ``drain_s`` for those in flight (default: their own bound).

        Call from the loop's thread, e.g. via ``call_soon_threadsafe``.
        """
        self._drain_s = drain_s
        self._stopping = True

    def wall(self, mono: float) -> float:
        return self._t0_wall + (mono - self._t0_mono)

    def emit(self, row: ProbeRow) -> None:
        if self.sink is not None:
            self.sink.write(row)
        self.outcome.rows += 1
        self.stats.record(row, self.wall(asyncio.get_running_loop().time()))

    def http(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("the probe host's HTTP session is open only while it runs")
        return self._session

    def followers(self, op: str) -> tuple[Follower, ...]:
        return self._followers.get(op, ())

    def open_loop(
        self, *, rate: float, in_flight_limit: int, flow: Flow, overflow: Callable[[int, float], None]
    ) -> OpenLoop:
        scheduler = OpenLoop(
            rate=rate,
            in_flight_limit=in_flight_limit,
            stats=self.stats,
            outcome=self.outcome,
            wall=self.wall,
            stopping=lambda: self._stopping,
            flow=flow,
            overflow=overflow,
        )
        self._loops.append(scheduler)
        return scheduler

    async def run(self, *, on_ready: ReadyCallback) -> Outcome:
        import aiohttp

        loop = asyncio.get_running_loop()
        self._t0_mono, self._t0_wall = loop.time(), time.time()
        connector = aiohttp.TCPConnector(limit=connection_limit(max(1, self.in_flight_limit)), limit_per_host=0)
        # No cookie jar: each probe flow is independent, and the application must not tie them together.
        async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:
            self._session = session
            try:
                for driver in self.drivers:
                    await driver.prepare(self)
            except ProbeUnavailable as exc:
                on_ready(None, str(exc))
                return self.outcome
            self.outcome.ready = self._ready_text()
            on_ready(self.outcome.ready, None)
            # Re-anchor: rows' times start from the moment scheduling starts.
            self._t0_mono, self._t0_wall = loop.time(), time.time()
            self.outcome.started_at = self._t0_wall
            await asyncio.gather(*(d.run(self) for d in self.drivers))
            self.outcome.stopped_at = self.wall(loop.time())
            bound = self.flow_bound_s + 1.0 if self._drain_s is None else self._drain_s
            tasks = {t for s in self._loops for t in s.tasks}
            self.outcome.cancelled = await drain(tasks, bound)
            self._session = None
        return self.outcome

    def _ready_text(self) -> str:
        found = []
        for d in self.drivers:
            captured = getattr(d, "setup_captures", {})
            found += [f"{k}={v}" for k, v in captured.items()]
            if "product_id" in captured:
                self.outcome.product_id = captured["product_id"]
        return ", ".join(found)
