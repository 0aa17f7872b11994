"""Probe kind ``http``: named HTTP operations sent open-loop, each flow a fresh set of values.

Declaration (``steady_state.probes[i]``)::

    - kind: http
      name: orders
      base_url: http://127.0.0.1:9000
      rate: 20                       # flows per second, open-loop
      timeout: 2s
      values: {tenant: drill}        # constants for templates
      setup:                         # once, before probing; captures become values; no rows
        - {name: token, method: POST, url: /login, json: {user: probe}, capture: {auth: {json_path: $.token}}}
      operations:                    # every flow: in order; a row each
        - name: place_order
          method: POST
          url: /orders
          headers: {Authorization: "Bearer {auth}"}
          json: {sku: A1, ref: "probe-{run_id}-{seq}"}
          expect: {status: [201], json_path: $.id}
          capture: {order_id: {json_path: $.id}}
          objective: {success_ratio_min: 0.999, latency_p95_ms_max: 300}

A step that fails ends its flow: the steps after it get failed rows ("skipped: … failed"), so
every flow writes one row per operation and an outage never thins the samples.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from bridge.probes.contract import (
    BuildContext,
    Follower,
    KindSpec,
    Objective,
    OperationInfo,
    ProbeDeclaration,
    ProbeEnv,
    ProbeFieldError,
    ProbeUnavailable,
    Sampling,
    Scope,
)
from bridge.probes.httpdecl import Capture, Request, check_names
from bridge.probes.rows import ProbeRow
from bridge.probes.template import FLOW_VALUES
from bridge.spec.base import HTTP_URL, Duration, Ident, seconds

if TYPE_CHECKING:
    from bridge.probes.httpcall import Exchange, PreparedRequest

# Flows in flight above this are refused and recorded as failures (a bound on sockets and memory,
# far above what an honest server needs, so it never turns the probe closed-loop in practice).
MAX_IN_FLIGHT_CAP = 20_000
SETUP_VALUES = frozenset({"run_id", "token"})


class HttpOperation(Request):
    """One named HTTP exchange; its rows carry ``op: <name>``."""

    name: Ident
    capture: dict[Ident, Capture] = Field(default_factory=dict, max_length=20)
    objective: Objective | None = Field(default=None, description="default: steady_state.slo")
    record: bool = Field(default=True, description="write a row for it (false: a step that is not judged)")


class HttpProbe(ProbeDeclaration):
    """Named HTTP operations against the application, sent open-loop."""

    kind: Literal["http"]
    base_url: str | None = Field(default=None, pattern=HTTP_URL, max_length=500, description="joined to '/paths'")
    rate: float = Field(default=20.0, gt=0, le=5000, description="flows per second, scheduled open-loop")
    timeout: Duration = Field(default=2.0, description="per-request timeout")
    mode: Ident | None = Field(
        default=None, description="the rows' `mode` (path or channel); default: the drill's channel"
    )
    values: dict[Ident, str] = Field(default_factory=dict, max_length=50, description="constants for templates")
    setup: list[HttpOperation] = Field(default_factory=list, max_length=10)
    operations: list[HttpOperation] = Field(min_length=1, max_length=20)
    max_in_flight: int | None = Field(default=None, ge=1, le=MAX_IN_FLIGHT_CAP)

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> float:
        return seconds(value, minimum=0.01, field_name="timeout")

    def measured(self) -> tuple[OperationInfo, ...]:
        return tuple(
            OperationInfo(op.name, "latency", op.objective or Objective(), self.mode)
            for op in self.operations
            if op.record
        )

    def sampling(self, upstream: Mapping[str, Sampling], unanswered_s: float) -> dict[str, Sampling]:
        # A flow runs its steps in order, each answered within `timeout`: step i is sent at most i
        # timeouts after the flow's t; a row without an answer ends where the analysis puts it.
        last = max(self.timeout, unanswered_s)
        return {op.name: Sampling(self.rate, self.timeout * i + last) for i, op in enumerate(self.operations)}

    def _known_before(self) -> tuple[list[frozenset[str]], list[frozenset[str]]]:
        """The values each setup step and each operation may use."""
        known = SETUP_VALUES | frozenset(self.values)
        setup = []
        for step in self.setup:
            setup.append(known)
            known = known | frozenset(step.capture)
        known = known | FLOW_VALUES
        ops = []
        for op in self.operations:
            ops.append(known)
            known = known | frozenset(op.capture)
        return setup, ops

    def values_after(self) -> Mapping[str, frozenset[str]]:
        _, before = self._known_before()
        return {op.name: known | frozenset(op.capture) for op, known in zip(self.operations, before, strict=True)}

    def cross_check(self, scope: Scope) -> None:
        setup_known, op_known = self._known_before()
        names: set[str] = set()
        for field, steps, knowns in (("setup", self.setup, setup_known), ("operations", self.operations, op_known)):
            for i, (step, known) in enumerate(zip(steps, knowns, strict=True)):
                if step.name in names:
                    raise ProbeFieldError((field, i, "name"), f"operation name {step.name!r} is used twice")
                names.add(step.name)
                if step.url.startswith("/") and self.base_url is None:
                    raise ProbeFieldError((field, i, "url"), f"{step.url!r} is a path; set the probe's base_url")
                check_names(step.templates(), known, (field, i))


def build(decl: HttpProbe, ctx: BuildContext) -> HttpDriver:
    return HttpDriver(decl, ctx)


class HttpDriver:
    """The running ``http`` probe."""

    def __init__(self, decl: HttpProbe, ctx: BuildContext) -> None:
        from bridge.probes.httpcall import PreparedRequest

        self.decl = decl
        self.name = decl.name
        self.mode = decl.mode or ctx.channel

        def prep(op: HttpOperation) -> PreparedRequest:
            return PreparedRequest(op, base_url=decl.base_url, timeout_s=decl.timeout, captures=op.capture)

        self.setup = [(op, prep(op)) for op in decl.setup]
        self.steps = [(op, prep(op)) for op in decl.operations]
        self.values: dict[str, str] = {**decl.values, "run_id": ctx.run_id, "token": secrets.token_hex(3)}
        own = sum(p.timeout_s for _, p in self.steps)
        self.flow_bound_s = own + max((ctx.follow_bound_s.get(op.name, 0.0) for op in decl.operations), default=0.0)
        self.in_flight_limit = decl.max_in_flight or min(
            MAX_IN_FLIGHT_CAP, math.ceil(decl.rate * self.flow_bound_s * 1.5) + 100
        )
        self._followers: list[tuple[Follower, ...]] = []
        self.setup_captures: dict[str, str] = dict(decl.values)  # what setup found, for the ready message

    async def prepare(self, env: ProbeEnv) -> None:
        self._followers = [env.followers(op.name) for op, _ in self.steps]
        for op, req in self.setup:
            answer = await req.send(env.http(), self.values)
            if not answer.ok:
                url = req.url.render(self.values)
                said = f"answered {answer.status}" if answer.status is not None else "failed"
                detail = f": {answer.error}" if answer.error and answer.error != f"http {answer.status}" else ""
                raise ProbeUnavailable(f"{op.method} {url} {said}{detail} (setup step {op.name} of probe {self.name})")
            self.values.update(answer.captured)
            self.setup_captures.update(answer.captured)

    async def run(self, env: ProbeEnv) -> None:
        loop = asyncio.get_running_loop()

        async def flow(k: int, t: float, sent: float) -> None:
            await self._flow(env, loop, k, t, sent)

        scheduler = env.open_loop(
            rate=self.decl.rate,
            in_flight_limit=self.in_flight_limit,
            flow=flow,
            overflow=lambda k, t: self._overflow(env, t),
        )
        await scheduler.run()

    def _overflow(self, env: ProbeEnv, t: float) -> None:
        why = "overflow: too many in flight"
        for (op, _), followers in zip(self.steps, self._followers, strict=True):
            if op.record:
                env.emit(ProbeRow(t, None, None, False, op.name, self.mode, None, why))
            for f in followers:
                env.emit(ProbeRow(t, None, None, False, f.name, f.mode or self.mode, None, why))

    async def _flow(self, env: ProbeEnv, loop: asyncio.AbstractEventLoop, k: int, t: float, sent: float) -> None:
        values = {
            **self.values,
            "seq": str(k),
            "uuid": uuid.uuid4().hex,
            "time": str(int(t)),
            "time_ms": str(int(t * 1000)),
        }
        # Follow-ups start as soon as their operation answered (their delay runs from then), beside
        # the flow's later steps; the flow ends when all have.
        pending: list[asyncio.Task[None]] = []
        try:
            await self._steps(env, loop, t, sent, values, pending)
            if pending:
                await asyncio.gather(*pending)
        finally:
            for task in pending:  # a flow cancelled at the drain bound takes its follow-ups with it
                task.cancel()

    async def _steps(
        self,
        env: ProbeEnv,
        loop: asyncio.AbstractEventLoop,
        t: float,
        sent: float,
        values: dict[str, str],
        pending: list[asyncio.Task[None]],
    ) -> None:
        failed = ""
        session = env.http()
        for i, ((op, req), followers) in enumerate(zip(self.steps, self._followers, strict=True)):
            if failed:
                if op.record:
                    env.emit(ProbeRow(t, None, None, False, op.name, self.mode, None, f"skipped: {failed}"))
                pending += [asyncio.create_task(f.follow(env, t, None, loop.time(), failed)) for f in followers]
                continue
            step_sent = sent if i == 0 else env.wall(loop.time())
            answer = await _send(req, session, values)
            answered = loop.time()
            if op.record:
                row = ProbeRow(
                    t, step_sent, answer.latency_ms, answer.ok, op.name, self.mode, answer.status, answer.error
                )
                env.emit(row)
            if answer.ok:
                values.update(answer.captured)
                if followers:
                    snapshot = dict(values)  # later steps' captures must not change what a follower sees
                    pending += [asyncio.create_task(f.follow(env, t, snapshot, answered, "")) for f in followers]
            else:
                failed = f"{op.name} failed: {answer.error}"
                pending += [asyncio.create_task(f.follow(env, t, None, answered, failed)) for f in followers]


async def _send(req: PreparedRequest, session: Any, values: Mapping[str, str]) -> Exchange:
    from bridge.probes.httpcall import Exchange

    try:
        return await req.send(session, values)
    except Exception as exc:  # noqa: BLE001 - a probe bug must still leave a row, never a silent gap
        return Exchange(False, None, f"probe error: {type(exc).__name__}", None)


KIND = KindSpec(name="http", declaration=HttpProbe, build=build, role="driver")
