"""Probe kind ``eventually``: after an operation succeeds, poll a check until its criterion holds.

This is how an asynchronous business path is judged (an order confirmed by a consumer through
RocketMQ, a cart that shows the item): the row's figure (``latency_ms``) is the delay from the
operation's answer until the check first held; not holding within ``within`` is a failure.
When the operation failed, the row is a failure too ("<op> failed: …"), so the follow-up's
success ratio never looks better during an outage than the operation it follows.

Declaration::

    - kind: eventually
      name: order_confirmed          # the rows' op
      after: place_order             # an operation of an http probe; its captures are values here
      within: 10s                    # the bound
      check:
        url: /orders/{order_id}      # joined to base_url, default: the http probe's
        expect: {status: [200], json_path: $.state, equals: CONFIRMED}
      objective: {success_ratio_min: 0.99, delay_s_max: 5}   # default delay bound: within
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from pydantic import Field, field_validator

from bridge.probes.contract import (
    BuildContext,
    KindSpec,
    Objective,
    OperationInfo,
    ProbeDeclaration,
    ProbeEnv,
    ProbeFieldError,
    Sampling,
    Scope,
)
from bridge.probes.httpdecl import Request, check_names
from bridge.probes.rows import ProbeRow
from bridge.spec.base import HTTP_URL, Duration, Ident, seconds

# Poll soon after the operation answers (an effect over RocketMQ usually takes a few ms), then back
# off so a check that never holds costs ~10 requests/s per pending flow, not more.
DEFAULT_POLL_S: tuple[float, ...] = (0.0, 0.005, 0.01, 0.02, 0.04, 0.08, 0.1)


class EventuallyProbe(ProbeDeclaration):
    """An eventual effect of an operation, checked by polling over HTTP."""

    kind: Literal["eventually"]
    after: Ident = Field(description="the operation (of an http probe) whose effect is awaited")
    within: Duration = Field(default=5.0, description="how long to poll before the row counts as a failure")
    check: Request
    base_url: str | None = Field(
        default=None, pattern=HTTP_URL, max_length=500, description="default: the operation's probe's"
    )
    poll: list[Duration] = Field(
        default_factory=lambda: list(DEFAULT_POLL_S),
        min_length=1,
        max_length=50,
        description="delays before each poll; the last repeats",
    )
    mode: Ident | None = Field(default=None, description="the rows' mode; default: the operation's")
    objective: Objective | None = Field(default=None, description="delay_s_max defaults to `within`")

    @field_validator("within", mode="before")
    @classmethod
    def _within(cls, value: Any) -> float:
        return seconds(value, minimum=0.01, field_name="within")

    @field_validator("poll", mode="before")
    @classmethod
    def _poll(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [seconds(v, minimum=0, field_name="a poll delay") for v in value]

    def measured(self) -> tuple[OperationInfo, ...]:
        objective = self.objective or Objective()
        if objective.delay_s_max is None:
            objective = objective.model_copy(update={"delay_s_max": self.within})
        return (OperationInfo(self.name, "delay", objective, self.mode),)

    def follows(self) -> str | None:
        return self.after

    def sampling(self, upstream: Mapping[str, Sampling], unanswered_s: float) -> dict[str, Sampling]:
        after = upstream.get(self.after)
        if after is None:
            return {}
        # The row starts at the flow's t; its first poll follows the operation's answer (at most that
        # operation's bound after t), and a healthy effect shows within delay_s_max (an unseen one is
        # ended there by the analysis).
        delay = self.measured()[0].objective.delay_s_max or self.within
        return {self.name: replace(after, bound_s=after.bound_s + delay, ready_s=None)}

    def cross_check(self, scope: Scope) -> None:
        owner = scope.owner.get(self.after)
        if owner is None or owner is self:
            known = ", ".join(sorted(o for o, d in scope.owner.items() if d.follows() is None)) or "none"
            raise ProbeFieldError(("after",), f"no operation named {self.after!r} to follow; operations: {known}")
        if owner.follows() is not None:
            raise ProbeFieldError(("after",), f"{self.after!r} is itself a follow-up; follow the operation it checks")
        base = self.base_url or getattr(owner, "base_url", None)
        if self.check.url.startswith("/") and base is None:
            raise ProbeFieldError(("check", "url"), f"{self.check.url!r} is a path; set base_url")
        check_names(self.check.templates(), scope.values_after.get(self.after, frozenset()), ("check",))


class EventuallyFollower:
    """The running ``eventually`` probe: one follow-up per flow of the operation it follows."""

    def __init__(self, decl: EventuallyProbe, ctx: BuildContext) -> None:
        from bridge.probes.httpcall import PreparedRequest

        owner = ctx.owner_of(decl.after)
        base = decl.base_url or getattr(owner, "base_url", None)
        timeout = decl.check.timeout if decl.check.timeout is not None else getattr(owner, "timeout", 2.0)
        self.name = decl.name
        self.after = decl.after
        self.mode = decl.mode or getattr(owner, "mode", None)
        self.bound_s = decl.within
        self.limit_s = decl.measured()[0].objective.delay_s_max or decl.within
        self.poll = tuple(decl.poll)
        self.timeout_s = float(timeout)
        self.request = PreparedRequest(decl.check, base_url=base, timeout_s=self.timeout_s, captures={})

    async def follow(self, env: ProbeEnv, t: float, values: Mapping[str, str] | None, since: float, why: str) -> None:
        mode = self.mode or env.channel
        if values is None:
            env.emit(ProbeRow(t, None, None, False, self.name, mode, None, why))
            return
        from bridge.probes.httpcall import Exchange

        loop = asyncio.get_running_loop()
        deadline = since + self.bound_s
        first_sent: float | None = None
        last: Exchange | None = None
        session = env.http()
        for attempt in itertools.count():  # ends at the deadline
            delay = self.poll[min(attempt, len(self.poll) - 1)]
            if delay > 0:
                await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            first_sent = first_sent if first_sent is not None else env.wall(loop.time())
            try:
                answer = await self.request.send(session, values, timeout_s=min(self.timeout_s, remaining))
            except Exception as exc:  # noqa: BLE001 - a probe bug must still leave a row, never a silent gap
                answer = Exchange(False, None, f"probe error: {type(exc).__name__}", None)
            # A poll cut short by the bound says nothing about the application: keep the last real answer.
            if last is None or answer.status is not None or remaining >= self.timeout_s:
                last = answer
            if answer.ok:
                delay_ms = (loop.time() - since) * 1000.0
                ok = delay_ms <= self.limit_s * 1000.0
                error = "" if ok else f"seen after {delay_ms / 1000:.3f}s > {self.limit_s:g}s"
                env.emit(ProbeRow(t, first_sent, delay_ms, ok, self.name, mode, answer.status, error))
                return
        text = f"not seen within {self.bound_s:g}s"
        if last is not None and last.error:
            text += f" (last poll: {last.error})"
        env.emit(ProbeRow(t, first_sent, None, False, self.name, mode, None if last is None else last.status, text))


def build(decl: EventuallyProbe, ctx: BuildContext) -> EventuallyFollower:
    return EventuallyFollower(decl, ctx)


KIND = KindSpec(name="eventually", declaration=EventuallyProbe, build=build, role="follower")
