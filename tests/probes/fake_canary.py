"""A fake RocketMQ for the canary: an in-memory topic that can be taken down or stop delivering."""

from __future__ import annotations

import queue
import threading

from bridge.probes.canary_client import CanaryClientError


class FakeRocketmq:
    """Implements :class:`bridge.probes.canary_client.CanaryClient`."""

    def __init__(self) -> None:
        self.down = threading.Event()  # sends and receives fail, like a dead proxy
        self.swallow = threading.Event()  # sends succeed but nothing is delivered, like a stuck consumer path
        self.extra: list[bytes] = []  # delivered once before our messages (leftovers of other runs)
        self._queue: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self.started = self.closed = False
        self.accepted = 0

    def start(self) -> None:
        self.started = True
        for body in self.extra:
            self._queue.put(body)

    def send(self, body: bytes) -> None:
        if self.down.is_set():
            raise CanaryClientError("UNAVAILABLE: connection refused")
        self.accepted += 1
        if not self.swallow.is_set():
            self._queue.put(body)

    def redeliver(self, body: bytes) -> None:
        self._queue.put(body)

    def receive(self, wait_s: float) -> list[bytes]:
        if self.down.is_set():
            raise CanaryClientError("UNAVAILABLE")
        try:
            first = self._queue.get(timeout=min(wait_s, 0.05))
        except queue.Empty:
            return []
        out = [first]
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        self.closed = True
