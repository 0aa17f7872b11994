"""Fakes for the demo services' RocketMQ clients and their clocks, shared by the unit tests of the
shop's and the orders app's client keeping (rmqkeeper) and protections (rmqprotect)."""

from __future__ import annotations

import threading
from typing import Any


class FakeClock:
    """A clock the test moves: ``sleep`` (for synchronous callers) and ``asleep`` (for asyncio
    callers) advance it at once instead of waiting."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, s: float) -> None:
        self.now += s

    async def asleep(self, s: float) -> None:
        self.now += s


class FakeConsumer:
    """A simple consumer: its first ``fails`` receives raise ``error`` (none when ``error`` is None),
    each receive takes ``step`` seconds of the fake clock, and ``stop`` is set after ``ok_calls``
    good receives."""

    def __init__(
        self,
        clock: FakeClock,
        error: str | None,
        stop: threading.Event,
        *,
        fails: int = 10**6,
        step: float = 1.0,
        ok_calls: int = 1,
    ) -> None:
        self.clock, self.error, self.stop = clock, error, stop
        self.fails, self.step, self.ok_calls = fails, step, ok_calls
        self.receives = 0
        self.shut = False

    def receive(self, max_num: int, invisible_s: int) -> list[Any]:
        self.receives += 1
        self.clock.now += self.step
        if self.error is not None and self.receives <= self.fails:
            raise RuntimeError(self.error)
        if self.receives - (self.fails if self.error is not None else 0) >= self.ok_calls:
            self.stop.set()
        return []

    def shutdown(self) -> None:
        self.shut = True
