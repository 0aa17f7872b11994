"""Test doubles shared by the k8s tests: a fake clock whose sleep can run a callback."""

from __future__ import annotations

from collections.abc import Callable


class FakeClock:
    """Time moves only when someone sleeps; ``on_sleep`` lets a test act "meanwhile".

    Tests play the controller (Chaos Mesh, the chaosblade-operator) inside ``on_sleep``: the
    engine polls, sleeps, and the fake controller writes status through the API server.
    """

    def __init__(self, on_sleep: Callable[[int], None] | None = None) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps))
