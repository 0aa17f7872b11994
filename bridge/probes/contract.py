"""The probe-kind contract: how a kind of probe joins the drill language and the run.

A **kind** (``http``, ``eventually``, …) is ONE module in ``bridge/probes/kinds/`` holding

1. its **declaration**: a pydantic model deriving from :class:`ProbeDeclaration`, with
   ``kind: Literal["<name>"]`` (the discriminator) and whatever fields the kind needs. Field
   validators check everything that can be checked alone (a regex compiles, a URL is a URL);
   :meth:`ProbeDeclaration.cross_check` checks what needs the other probes (a template names a value
   that an earlier operation captures) and raises :class:`ProbeFieldError` with the field's path,
   so ``validate`` and ``plan`` name file, line and field;
2. its **runner**: ``build(declaration, context)`` returning a :class:`Driver` (it schedules
   its own traffic, open-loop: reuse :class:`bridge.probes.openloop.OpenLoop`) or a
   :class:`Follower` (it acts after another probe's operation, e.g. ``eventually``);
3. ``KIND = KindSpec(name, Declaration, build)`` at module level.

Then add the module's path to ``BUILTIN_KINDS`` in :mod:`bridge.probes.registry` — the one
place. The drill's schema (``steady_state.probes``) is the discriminated union of every
registered declaration, so ``mqdrill schema`` and editors see the new kind at once.

Every kind writes rows of the run-directory contract (:class:`bridge.probes.rows.ProbeRow`:
t = intended time, sent, latency_ms = the row's figure, ok, op, mode, status, error), one
per measured event, through :meth:`ProbeEnv.emit`; the analysis stays generic. A kind may add
columns after the contract's (:meth:`ProbeDeclaration.extra_columns`, values in ``ProbeRow.extra``);
readers ignore columns they do not know. Each operation
a kind measures is described by an :class:`OperationInfo`: its name, what its figure means
(:data:`Measure`) and its objective, which the runner carries into ``run.json``.

Keep a kind's module importable without side effects and cheap: heavy clients (aiohttp, a
RocketMQ client) are imported inside ``build`` or the runner, never at module top, because the
drill models import every kind when ``mqdrill validate`` starts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import Field

from bridge.spec.base import Ident, Strict

if TYPE_CHECKING:
    import aiohttp

    from bridge.probes.openloop import Flow, OpenLoop
    from bridge.probes.rows import ProbeRow
    from bridge.probes.stats import LiveStats

# What an operation's figure (the row's latency_ms) means, and so which objective judges it:
# "latency": the answer time, judged by latency_p95_ms_max over the window;
# "delay": the time until an eventual effect was seen, bounded per row by delay_s_max (a row
#          past the bound is a failure), so only the success ratio is judged over the window;
# "lag": a backlog or consume-delay figure; the kind sets ok against lag_max itself.
Measure = Literal["latency", "delay", "lag"]


class Objective(Strict):
    """The bar one operation is held to; a field left out takes the drill's ``steady_state.slo``."""

    success_ratio_min: float | None = Field(default=None, ge=0, le=1)
    latency_p95_ms_max: float | None = Field(default=None, gt=0, le=600_000)
    delay_s_max: float | None = Field(default=None, gt=0, le=3600, description="eventual effect seen within this")
    lag_max: float | None = Field(default=None, ge=0, description="consumer lag or consume delay bound")
    min_samples: int | None = Field(default=None, ge=1, le=10_000_000)


@dataclass(frozen=True)
class OperationInfo:
    """One operation a probe measures: the ``op`` of its rows, what the figure means, its bar."""

    name: str
    measure: Measure
    objective: Objective = field(default_factory=Objective)
    mode: str | None = None  # the row's `mode` when the declaration fixes it


@dataclass(frozen=True)
class Sampling:
    """How one operation's rows accrue, for sizing the windows before anything starts
    (:mod:`bridge.spec.sizing`).

    ``rate``: rows per second. ``bound_s``: the longest a row's outcome interval (as the analysis
    reads it, bridge/analysis/attribution.py) can reach past its intended time ``t``: a window
    loses the rows of its last ``bound_s`` seconds. ``ready_s``: how long after ``t`` the row reaches
    the live figures the preflight judges (default ``bound_s``). ``history_s``: the span of rows the
    probe has at once when it starts (a Prometheus probe reads the recent past). ``knob``: the
    probe's field that sets the rate, and ``probe``: that probe's index in ``steady_state.probes``.
    """

    rate: float
    bound_s: float
    ready_s: float | None = None
    history_s: float = 0.0
    knob: str = "rate"
    probe: int = 0

    @property
    def ready(self) -> float:
        return self.bound_s if self.ready_s is None else self.ready_s


def sampling_of(declarations: tuple[ProbeDeclaration, ...] | list[Any], unanswered_s: float) -> dict[str, Sampling]:
    """Every operation's :class:`Sampling`, drivers first, then the followers of their operations.

    ``unanswered_s``: how long after ``sent`` the analysis ends a row that has no figure
    (run.json ``probe.timeout_s``). Operations of a kind that does not describe its sampling are
    left out (they are not sized)."""
    out: dict[str, Sampling] = {}
    order = sorted(range(len(declarations)), key=lambda i: declarations[i].follows() is not None)
    for i in order:
        decl = declarations[i]
        for op, s in decl.sampling(out, unanswered_s).items():
            # a follower's rows come at its operation's rate: it keeps that driver's index and knob
            out[op] = s if decl.follows() is not None else replace(s, probe=i)
    return out


class ProbeFieldError(ValueError):
    """A declaration problem at a field path below the probe (e.g. ``("check", "url")``)."""

    def __init__(self, loc: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


@dataclass(frozen=True)
class Scope:
    """What the other probes of the drill offer, for :meth:`ProbeDeclaration.cross_check`."""

    operations: Mapping[str, OperationInfo]  # every operation of the drill, by name
    values_after: Mapping[str, frozenset[str]]  # template values known once that operation succeeded
    owner: Mapping[str, ProbeDeclaration]  # the declaration each operation belongs to


class ProbeDeclaration(Strict):
    """Base of every kind's declaration (``steady_state.probes[i]``)."""

    kind: str
    name: Ident = Field(description="the probe's name, unique in the drill")

    def measured(self) -> tuple[OperationInfo, ...]:
        """The operations this probe writes rows for (their names are the rows' ``op``)."""
        raise NotImplementedError

    def values_after(self) -> Mapping[str, frozenset[str]]:
        """Per operation: the template values a follower of it may use (its flow's values and captures)."""
        return {}

    def follows(self) -> str | None:
        """The operation this probe acts after (followers), or None (drivers)."""
        return None

    def extra_columns(self) -> tuple[str, ...]:
        """Columns this kind adds to ``probe.csv`` after the contract's (values in ``ProbeRow.extra``)."""
        return ()

    def cross_check(self, scope: Scope) -> None:
        """Checks that need the other probes; raise :class:`ProbeFieldError`."""

    def sampling(self, upstream: Mapping[str, Sampling], unanswered_s: float) -> dict[str, Sampling]:
        """Per operation this probe defines (rows or not): its :class:`Sampling`. ``upstream``: the
        drivers' operations (a follower's rows come at the rate of the operation it follows). A kind
        that leaves this out is not sized by ``validate``."""
        return {}


class ProbeUnavailable(Exception):
    """The probe cannot start (its endpoint does not answer, its setup failed): the reason, in words."""


class ProbeEnv(Protocol):
    """What the host gives a running probe: one asyncio loop, shared by every probe of the drill."""

    run_id: str
    channel: str  # the drill's channel, the default `mode` of rows
    stats: LiveStats

    @property
    def stopping(self) -> bool: ...

    def emit(self, row: ProbeRow) -> None:
        """Record a finished row (probe.csv and the live stats); never blocks."""

    def wall(self, mono: float) -> float:
        """Unix time of a loop-clock instant (one anchor: rows are free of wall-clock jumps)."""

    def http(self) -> aiohttp.ClientSession:
        """The drill's shared HTTP session (no cookie jar, pooled connections)."""

    def followers(self, op: str) -> tuple[Follower, ...]:
        """The followers acting after ``op`` (e.g. an ``eventually`` check)."""

    def open_loop(
        self, *, rate: float, in_flight_limit: int, flow: Flow, overflow: Callable[[int, float], None]
    ) -> OpenLoop:
        """An open-loop scheduler for this driver; the host drains its flows when the probe stops.

        ``flow(k, t, sent)`` runs flow k (intended Unix time t, actual send time sent) and emits
        its rows; ``overflow(k, t)`` emits the failed rows of a flow refused for too many in flight.
        Run it with ``await env.open_loop(...).run()``: it returns once the probe is stopping.
        """


class Driver(Protocol):
    """A probe that sends its own traffic, open-loop."""

    name: str
    flow_bound_s: float  # the longest one flow can take (drain bound)
    in_flight_limit: int  # flows in flight above this are refused and recorded as failures

    async def prepare(self, env: ProbeEnv) -> None:
        """One-time setup before probing; raise :class:`ProbeUnavailable` with a reason."""

    async def run(self, env: ProbeEnv) -> None:
        """Schedule flows with :meth:`ProbeEnv.open_loop` until ``env.stopping`` (the host drains)."""


class Follower(Protocol):
    """A probe acting after another probe's operation, inside that operation's flow."""

    name: str  # the op of its rows
    after: str
    bound_s: float  # the longest one follow-up can take
    mode: str | None  # the rows' mode (None: the driver's)

    async def follow(self, env: ProbeEnv, t: float, values: Mapping[str, str] | None, since: float, why: str) -> None:
        """Act after ``after``: ``values`` of the flow when it succeeded (None when it did not, then
        ``why`` says why); ``since`` is the loop-clock instant its answer came. Emit one row."""


@dataclass(frozen=True)
class BuildContext:
    """What ``build`` may read besides its own declaration."""

    run_id: str
    channel: str
    declarations: tuple[ProbeDeclaration, ...]  # every probe of the drill
    follow_bound_s: Mapping[str, float] = field(default_factory=dict)  # op -> longest follow-up after it

    def owner_of(self, op: str) -> ProbeDeclaration | None:
        for decl in self.declarations:
            if any(o.name == op for o in decl.measured()) or op in decl.values_after():
                return decl  # values_after() also names steps that write no row
        return None


@dataclass(frozen=True)
class KindSpec:
    """A probe kind as the registry knows it."""

    name: str
    declaration: type[ProbeDeclaration]
    build: Callable[[Any, BuildContext], Driver | Follower]
    role: Literal["driver", "follower"] = "driver"
