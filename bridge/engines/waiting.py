"""Bounded waiting and retrying, on an injectable clock so tests never sleep for real.

Engines poll the API server (no watches: they need long-lived streams that some servers and
proxies do not serve) and retry calls that failed because the server was briefly gone.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    """Monotonic time and sleeping; :class:`SystemClock` in production, a fake in tests."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def wait_until(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    timeout_s: float,
    poll_s: float,
    clock: Clock,
) -> tuple[bool, T]:
    """Call ``probe`` until ``done(value)`` or ``timeout_s`` passes; return (satisfied, last value).

    The probe runs at least once, and once more at the deadline, so a timeout of 0 still looks.
    """
    deadline = clock.monotonic() + timeout_s
    while True:
        value = probe()
        if done(value):
            return True, value
        remaining = deadline - clock.monotonic()
        if remaining <= 0:
            return False, value
        clock.sleep(min(poll_s, remaining))


def retry(
    action: Callable[[], T],
    *,
    attempts: int,
    delay_s: float,
    clock: Clock,
    retry_on: tuple[type[BaseException], ...],
    on_error: Callable[[int, BaseException], None] | None = None,
) -> T:
    """Run ``action`` up to ``attempts`` times, sleeping ``delay_s`` (doubling) between failures."""
    wait = delay_s
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except retry_on as exc:
            if on_error is not None:
                on_error(attempt, exc)
            if attempt == attempts:
                raise
            clock.sleep(wait)
            wait *= 2
    raise AssertionError("unreachable")  # pragma: no cover - attempts >= 1
