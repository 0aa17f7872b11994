"""The canary's RocketMQ boundary: the only module of ``bridge`` that imports the official client.

The rocketmq-canary probe needs a **RocketMQ 5 proxy** (the gRPC endpoint, ``host:port``, e.g.
``127.0.0.1:8081``): the official Python client 5.x speaks gRPC only. A name server, a 4.x
broker or anything else speaking RocketMQ's remoting protocol does not answer gRPC, and
:func:`check_proxy` says so before a drill starts instead of recording a run of failures.

:class:`RocketmqCanaryClient` produces with a ``Producer`` and consumes with a
``SimpleConsumer`` (receive, then ack): the PushConsumer's telemetry loop breaks against a
proxy with metric collection off (docs/environment.md). Errors of the client become
:class:`CanaryClientError` with the client's exception name as text.
"""

from __future__ import annotations

import contextlib
import re
import socket
from typing import Any, Protocol

from bridge.errors import MqdrillError

ENDPOINT = re.compile(r"^(?P<host>[A-Za-z0-9.\-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):(?P<port>[0-9]{1,5})$")
# The client connection preface of HTTP/2 (RFC 9113 §3.4) and an empty SETTINGS frame.
_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
_SETTINGS = 0x04


class CanaryClientError(MqdrillError):
    """A send, receive or start-up of the canary's client failed."""


class CanaryClient(Protocol):
    """What the canary needs from RocketMQ; a fake implements it in tests."""

    def start(self) -> None: ...
    def send(self, body: bytes) -> None: ...
    def receive(self, wait_s: float) -> list[bytes]: ...  # received and acknowledged
    def close(self) -> None: ...


def endpoint_problem(endpoint: str) -> str | None:
    """Why ``endpoint`` is not a ``host:port`` a gRPC client can dial, or None."""
    m = ENDPOINT.match(endpoint)
    if m is None:
        return f"{endpoint!r} is not host:port (e.g. 127.0.0.1:8081, the RocketMQ 5 proxy's gRPC port)"
    if not 0 < int(m.group("port")) < 65536:
        return f"port {m.group('port')} is out of range 1..65535"
    return None


def check_proxy(endpoint: str, timeout: float = 3.0) -> str | None:
    """None when a gRPC (HTTP/2) server answers at ``endpoint``; else what is wrong, in words."""
    problem = endpoint_problem(endpoint)
    if problem:
        return problem
    host, _, port = endpoint.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(_PREFACE)
            head = sock.recv(9)
    except OSError as exc:
        return f"nothing answers at {endpoint} ({type(exc).__name__}); the rocketmq-canary needs a RocketMQ 5 proxy"
    if len(head) < 9 or head[3] != _SETTINGS:
        return (
            f"{endpoint} does not speak gRPC: the rocketmq-canary needs a RocketMQ 5 proxy's gRPC endpoint "
            "(a name server or a 4.x broker speaks the remoting protocol)"
        )
    return None


class RocketmqCanaryClient:
    """Producer + SimpleConsumer of the official ``rocketmq-python-client`` 5.x."""

    def __init__(self, endpoint: str, topic: str, tag: str, group: str, *, request_timeout_s: int = 3) -> None:
        self.endpoint, self.topic, self.tag, self.group = endpoint, topic, tag, group
        self.request_timeout_s = request_timeout_s
        self._producer: Any = None
        self._consumer: Any = None

    def _config(self) -> Any:
        from rocketmq import ClientConfiguration, Credentials  # type: ignore[import-untyped]

        return ClientConfiguration(self.endpoint, Credentials(), request_timeout=self.request_timeout_s)

    def start(self) -> None:
        """Check that a RocketMQ 5 proxy answers, then start the producer and the consumer."""
        problem = check_proxy(self.endpoint)
        if problem is not None:
            raise CanaryClientError(problem)
        from rocketmq import FilterExpression, Producer, SimpleConsumer

        try:
            self._producer = Producer(self._config(), (self.topic,))
            self._producer.startup()
            self._consumer = SimpleConsumer(
                self._config(), self.group, {self.topic: FilterExpression(self.tag)}, await_duration=2
            )
            self._consumer.startup()
        except Exception as exc:  # the client raises bare Exceptions
            raise CanaryClientError(f"the canary's client did not start at {self.endpoint}: {_name(exc)}") from exc

    def send(self, body: bytes) -> None:
        from rocketmq import Message

        msg = Message()
        msg.topic = self.topic
        msg.tag = self.tag
        msg.body = body
        try:
            self._producer.send(msg)
        except Exception as exc:
            raise CanaryClientError(_name(exc)) from exc

    def receive(self, wait_s: float) -> list[bytes]:
        try:
            messages = self._consumer.receive(32, 15)
        except Exception as exc:
            raise CanaryClientError(_name(exc)) from exc
        bodies = []
        for msg in messages:
            bodies.append(bytes(msg.body))
            # Acknowledged without waiting: one synchronous ack per message capped the canary's consumer
            # near 55 messages/s (bench/canary_bench.py); a lost ack only means a redelivery, counted once.
            with contextlib.suppress(Exception):
                self._consumer.ack_async(msg)
        return bodies

    def close(self) -> None:
        for client in (self._consumer, self._producer):
            if client is not None:
                with contextlib.suppress(Exception):  # shutting down a client whose proxy is gone
                    client.shutdown()


def _name(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:120]}" if text else type(exc).__name__
