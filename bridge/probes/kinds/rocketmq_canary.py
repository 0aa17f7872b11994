"""Probe kind ``rocketmq-canary``: messages of its own through the broker, judged end to end.

It **needs a RocketMQ 5 proxy** (gRPC, ``host:port``): the official Python client 5.x speaks
nothing else. A name server, a 4.x broker or a closed port is refused before the first send
("does not speak gRPC"), and the drill's preflight fails with that sentence.

Declaration::

    - kind: rocketmq-canary
      name: canary                   # rows: canary_send, canary_delivery
      endpoint: 127.0.0.1:18081      # the proxy's gRPC port (in the embedded environment, a Toxiproxy listener)
      topic: T_ORDER
      tag: mqdrill-canary            # one tag no application subscribes to
      group: CID_MQDRILL_CANARY      # a consumer group of its own, never the application's
      rate: 5                        # messages per second, open-loop
      timeout: 3s                    # per send
      within: 5s                     # delivery bound: a message not received by then fails
      objective: {success_ratio_min: 0.99, latency_p95_ms_max: 200}     # of the sends
      delivery_objective: {success_ratio_min: 0.99, delay_s_max: 2}      # of the deliveries

Each message gives a ``<name>_send`` row (the send call's latency) and a ``<name>_delivery``
row (from the send's start until the canary's consumer had it); see
:mod:`bridge.probes.canary_core`. The group must exist or be auto-created
(``autoCreateSubscriptionGroup``, RocketMQ's default); the topic must exist.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Literal

from pydantic import Field, field_validator

from bridge.probes.canary_client import CanaryClient, CanaryClientError, endpoint_problem
from bridge.probes.canary_core import MODE, CanaryLedger, body_of
from bridge.probes.contract import (
    BuildContext,
    KindSpec,
    Objective,
    OperationInfo,
    ProbeDeclaration,
    ProbeEnv,
    ProbeUnavailable,
    Sampling,
)
from bridge.probes.rows import ProbeRow
from bridge.spec.base import Duration, seconds

TOPIC = r"^[A-Za-z0-9_%|-]{1,127}$"  # RocketMQ's own rule for topic names
GROUP = r"^[A-Za-z0-9_%|-]{1,255}$"
TAG = r"^[A-Za-z0-9_.-]{1,64}$"  # one concrete tag: no '*', no '||' expressions
# Consumer groups of the applications mqdrill ships: a canary never consumes as one of them.
APPLICATION_GROUPS = frozenset({"CID_CART", "CID_ORDERS", "CID_FULFILLMENT", "CID_NOTIFIER"})
SEND_WORKERS = 16


class CanaryProbe(ProbeDeclaration):
    """Produce on a topic and tag, consume with a group of its own; needs a RocketMQ 5 proxy (gRPC)."""

    kind: Literal["rocketmq-canary"]
    endpoint: str = Field(max_length=300, description="the RocketMQ 5 proxy's gRPC endpoint, host:port")
    topic: str = Field(pattern=TOPIC, description="an existing topic")
    tag: str = Field(default="mqdrill-canary", pattern=TAG, description="one tag no application subscribes to")
    group: str = Field(default="CID_MQDRILL_CANARY", pattern=GROUP, description="the canary's own consumer group")
    rate: float = Field(default=5.0, gt=0, le=1000, description="messages per second, open-loop")
    timeout: Duration = Field(default=3.0, description="per send (whole seconds, at least 1)")
    within: Duration = Field(default=5.0, description="delivery bound")
    objective: Objective | None = Field(default=None, description="of the sends; default: steady_state.slo")
    delivery_objective: Objective | None = Field(default=None, description="of the deliveries; delay_s_max: within")

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        problem = endpoint_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("group")
    @classmethod
    def _own_group(cls, value: str) -> str:
        if value in APPLICATION_GROUPS:
            raise ValueError(f"{value!r} is an application's consumer group; the canary needs a group of its own")
        return value

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> float:
        return seconds(value, minimum=1, field_name="timeout")

    @field_validator("within", mode="before")
    @classmethod
    def _within(cls, value: Any) -> float:
        return seconds(value, minimum=0.01, field_name="within")

    def measured(self) -> tuple[OperationInfo, ...]:
        delivery = self.delivery_objective or Objective()
        if delivery.delay_s_max is None:
            delivery = delivery.model_copy(update={"delay_s_max": self.within})
        return (
            OperationInfo(f"{self.name}_send", "latency", self.objective or Objective(), MODE),
            OperationInfo(f"{self.name}_delivery", "delay", delivery, MODE),
        )

    def sampling(self, upstream: Mapping[str, Sampling], unanswered_s: float) -> dict[str, Sampling]:
        # A healthy send answers within one `timeout` (the client retries only a failed one); a
        # delivery counts from the send's start and ends when received, or, missing, at its delay
        # bound (the analysis' end of a delivery row without a figure).
        send, delivery = (info.name for info in self.measured())
        delay = self.measured()[1].objective.delay_s_max or self.within
        return {
            send: Sampling(self.rate, max(self.timeout, unanswered_s)),
            delivery: Sampling(self.rate, max(delay, unanswered_s)),
        }


class CanaryDriver:
    """The running canary: sends from the open-loop scheduler, one receiver task, one ledger."""

    def __init__(self, decl: CanaryProbe, ctx: BuildContext, client: CanaryClient | None = None) -> None:
        self.decl = decl
        self.name = decl.name
        self.client = client
        self.bound_s = min(decl.within, decl.measured()[1].objective.delay_s_max or decl.within)
        self.ledger = CanaryLedger(ctx.run_id, self.bound_s, decl.name)
        self.flow_bound_s = decl.timeout * 3 + decl.within  # the client tries a send up to 3 times
        self.in_flight_limit = min(20_000, math.ceil(decl.rate * self.flow_bound_s * 1.5) + 20)
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._sends = ThreadPoolExecutor(max_workers=SEND_WORKERS, thread_name_prefix="mqdrill-canary-send")
        self._receives = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mqdrill-canary-receive")
        self._receiver: asyncio.Task[None] | None = None
        self.receive_errors = 0

    async def prepare(self, env: ProbeEnv) -> None:
        if self.client is None:
            from bridge.probes.canary_client import RocketmqCanaryClient

            d = self.decl
            self.client = RocketmqCanaryClient(d.endpoint, d.topic, d.tag, d.group, request_timeout_s=int(d.timeout))
        try:
            await asyncio.get_running_loop().run_in_executor(self._sends, self.client.start)
        except CanaryClientError as exc:
            raise ProbeUnavailable(f"rocketmq-canary {self.name}: {exc}") from exc

    async def run(self, env: ProbeEnv) -> None:
        self._receiver = asyncio.create_task(self._receive_loop(env))

        async def flow(k: int, t: float, sent: float) -> None:
            await self._flow(env, k, t, sent)

        def overflow(k: int, t: float) -> None:
            self._emit(env, self.ledger.send_failed(k, t, None, "overflow: too many sends in flight"))

        await env.open_loop(
            rate=self.decl.rate, in_flight_limit=self.in_flight_limit, flow=flow, overflow=overflow
        ).run()

    def _emit(self, env: ProbeEnv, rows: list[ProbeRow]) -> None:
        for row in rows:
            env.emit(row)

    async def _flow(self, env: ProbeEnv, k: int, t: float, sent: float) -> None:
        loop = asyncio.get_running_loop()
        self._waiting[k] = loop.create_future()
        try:
            await self._send_and_wait(env, loop, k, t, sent)
        finally:  # also when the host cancels a flow past its drain bound: the receiver must not wait for it
            self._waiting.pop(k, None)

    async def _send_and_wait(
        self, env: ProbeEnv, loop: asyncio.AbstractEventLoop, k: int, t: float, sent: float
    ) -> None:
        assert self.client is not None
        started = loop.time()
        try:
            await loop.run_in_executor(self._sends, self.client.send, body_of(self.ledger.run_id, k, sent))
            error = ""
        except CanaryClientError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a probe bug must still leave a row, never a silent gap
            error = f"probe error: {type(exc).__name__}"
        if error:
            self._emit(env, self.ledger.send_failed(k, t, sent, error))
            return
        rows = self.ledger.sent(k, t, sent, (loop.time() - started) * 1000.0)
        self._emit(env, rows)
        if len(rows) == 1:  # not received yet: wait for the receiver, at most the bound from the send's start
            remaining = self.bound_s - (loop.time() - started)
            try:
                await asyncio.wait_for(asyncio.shield(self._waiting[k]), timeout=max(0.0, remaining) + 0.05)
            except TimeoutError:
                self._emit(env, self.ledger.give_up(k))

    async def _receive_loop(self, env: ProbeEnv) -> None:
        """Receive until the probe stops and no flow waits any more; then shut the client down."""
        loop = asyncio.get_running_loop()
        assert self.client is not None
        try:
            while not (env.stopping and not self._waiting):
                try:
                    bodies = await loop.run_in_executor(self._receives, self.client.receive, 1.0)
                except CanaryClientError:
                    self.receive_errors += 1
                    await asyncio.sleep(0.2)
                    continue
                now = env.wall(loop.time())
                for body in bodies:
                    self._emit(env, self.ledger.received(body, now))
                self._wake()
        finally:
            self.client.close()
            self._sends.shutdown(wait=False)
            self._receives.shutdown(wait=False)

    def _wake(self) -> None:
        """Release the flows whose message has arrived (its delivery row is written)."""
        for seq, fut in list(self._waiting.items()):
            if seq in self.ledger.done and not fut.done():
                fut.set_result(None)


def build(decl: CanaryProbe, ctx: BuildContext) -> CanaryDriver:
    return CanaryDriver(decl, ctx)


KIND = KindSpec(name="rocketmq-canary", declaration=CanaryProbe, build=build, role="driver")
