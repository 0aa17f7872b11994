"""The RocketMQ canary probe: open-loop sends on a topic and tag, a consumer group of its own.

Sends are scheduled at a fixed rate from the start (open loop): each slot's send runs in a
small worker pool, so a send blocked by a dead broker never delays the next slot; a slot whose
in-flight limit is reached is recorded as a failure ("overflow"), never silently skipped. A
receiver thread long-polls with the canary's own group and turns each message into a delivery
row (:mod:`bridge.probes.canary_core`); messages not seen within the bound become failures.

It needs a RocketMQ 5 proxy: :func:`bridge.probes.canary_client.check_proxy` refuses anything
else before the first send (:func:`preflight`).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from bridge.errors import InputError
from bridge.probes.canary_client import CanaryClient, CanaryClientError, check_proxy, endpoint_problem
from bridge.probes.canary_core import CanaryLedger, body_of
from bridge.probes.rows import ProbeRow

TOPIC = re.compile(r"^[A-Za-z0-9_%|-]{1,127}$")  # RocketMQ's own rule for topic names
GROUP = re.compile(r"^[A-Za-z0-9_%|-]{1,255}$")
TAG = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # one concrete tag: no '*', no '||' expressions
# Consumer groups of the applications mqdrill ships: a canary must never consume as one of them.
APPLICATION_GROUPS = frozenset({"CID_CART", "CID_ORDERS", "CID_FULFILLMENT", "CID_NOTIFIER"})


class RowSink(Protocol):
    def write(self, row: ProbeRow) -> None: ...


@dataclass(frozen=True)
class CanaryConfig:
    endpoint: str  # the RocketMQ 5 proxy's gRPC endpoint, host:port
    topic: str
    tag: str = "mqdrill-canary"
    group: str = "CID_MQDRILL_CANARY"
    rate: float = 5.0  # messages per second
    delivery_bound_s: float = 5.0
    name: str = "canary"
    run_id: str = "canary"
    max_in_flight: int = 200
    send_workers: int = 8

    def problems(self) -> list[str]:
        """Everything wrong with this configuration, in words (empty when it is fine)."""
        out = []
        if (p := endpoint_problem(self.endpoint)) is not None:
            out.append(f"endpoint: {p}")
        if not TOPIC.match(self.topic):
            out.append(f"topic: {self.topic!r} is not a RocketMQ topic name (letters, digits, '_', '-', '%', '|')")
        if not TAG.match(self.tag):
            out.append(f"tag: {self.tag!r} must be one tag (letters, digits, '_', '.', '-'), not an expression")
        if not GROUP.match(self.group):
            out.append(f"group: {self.group!r} is not a RocketMQ consumer group name")
        if self.group in APPLICATION_GROUPS:
            out.append(f"group: {self.group!r} is an application's consumer group; the canary needs a group of its own")
        if not 0 < self.rate <= 1000:
            out.append(f"rate: {self.rate!r} must be in (0, 1000] messages/s")
        if not 0 < self.delivery_bound_s <= 3600:
            out.append(f"delivery_bound: {self.delivery_bound_s!r} must be in (0, 3600] s")
        return out


def preflight(config: CanaryConfig, timeout: float = 3.0) -> None:
    """Refuse a bad configuration or an endpoint that is not a RocketMQ 5 proxy, before any send."""
    problems = config.problems()
    if problems:
        raise InputError("rocketmq-canary: " + "; ".join(problems))
    problem = check_proxy(config.endpoint, timeout)
    if problem is not None:
        raise InputError(f"rocketmq-canary: {problem}")


class CanaryProbe:
    """Runs one canary: ``start()``, later ``stop()``; rows go to ``sink`` as outcomes are known."""

    def __init__(
        self,
        config: CanaryConfig,
        client: CanaryClient,
        sink: RowSink,
        *,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.client = client
        self.sink = sink
        self.wall = wall
        self.ledger = CanaryLedger(config.run_id, config.delivery_bound_s, config.name)
        self._lock = threading.Lock()
        self._stop_sending = threading.Event()
        self._stop_receiving = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=config.send_workers, thread_name_prefix="mqdrill-canary-send")
        self._threads: list[threading.Thread] = []
        self._in_flight = 0
        self.sent = 0
        self.receive_errors = 0

    def start(self) -> None:
        """Start the client (a failure raises :class:`CanaryClientError`), then the sender and receiver."""
        self.client.start()
        for target, name in ((self._receive_loop, "receive"), (self._send_loop, "schedule")):
            thread = threading.Thread(target=target, name=f"mqdrill-canary-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop sending; wait for what is in flight up to the delivery bound; expire the rest."""
        self._stop_sending.set()
        self._threads[-1].join()
        self._pool.shutdown(wait=True)
        deadline = self.wall() + self.config.delivery_bound_s
        while self.wall() < deadline and self.ledger.pending:
            time.sleep(0.05)
        self._stop_receiving.set()
        self._threads[0].join()
        with self._lock:
            self._emit(self.ledger.expire(float("inf")))
        self.client.close()

    def _emit(self, rows: list[ProbeRow]) -> None:
        for row in rows:
            self.sink.write(row)

    def _send_loop(self) -> None:
        start = self.wall()
        interval = 1.0 / self.config.rate
        seq = 0
        while not self._stop_sending.is_set():
            t = start + seq * interval
            wait = t - self.wall()
            if wait > 0 and self._stop_sending.wait(wait):
                return
            with self._lock:
                full = self._in_flight >= self.config.max_in_flight
                if not full:
                    self._in_flight += 1
            if full:
                with self._lock:
                    self._emit(self.ledger.send_failed(t, None, "overflow: too many sends in flight"))
            else:
                self._pool.submit(self._send_one, seq, t)
            seq += 1

    def _send_one(self, seq: int, t: float) -> None:
        sent = self.wall()
        try:
            self.client.send(body_of(self.config.run_id, seq, sent))
            error = ""
        except CanaryClientError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - a probe bug must still leave a row
            error = f"probe error: {type(exc).__name__}"
        latency_ms = (self.wall() - sent) * 1000.0
        with self._lock:
            self._in_flight -= 1
            self.sent += 1
            rows = self.ledger.send_failed(t, sent, error) if error else self.ledger.sent(seq, t, sent, latency_ms)
            self._emit(rows)

    def _receive_loop(self) -> None:
        while not self._stop_receiving.is_set():
            try:
                bodies = self.client.receive(1.0)
            except CanaryClientError:
                self.receive_errors += 1
                bodies = []
                self._stop_receiving.wait(0.2)
            now = self.wall()
            with self._lock:
                for body in bodies:
                    self._emit(self.ledger.received(body, now))
                self._emit(self.ledger.expire(now))
