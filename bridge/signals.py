"""The signal boundary: SIGINT and SIGTERM become an exception, so the drill unwinds through its
``finally`` blocks and every fault is recovered before the process exits.

While recovery runs (``shielded``), further signals are noted but do not interrupt it: a second
Ctrl-C must not leave a broker down.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from bridge.errors import MqdrillError

HANDLED = (signal.SIGINT, signal.SIGTERM)


class Interrupted(MqdrillError):
    """The drill was interrupted by a signal; faults are recovered before exiting."""

    exit_code = 130

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}; recovered before exiting")


def _install(handler: Callable[[int, FrameType | None], None]) -> dict[int, object] | None:
    if threading.current_thread() is not threading.main_thread():
        return None  # signals are delivered to the main thread only; nothing to install elsewhere
    return {s: signal.signal(s, handler) for s in HANDLED}


def _restore(previous: dict[int, object] | None) -> None:
    for s, h in (previous or {}).items():
        signal.signal(s, h)  # type: ignore[arg-type]


@contextmanager
def interrupts_raise() -> Iterator[None]:
    """Within the block, SIGINT/SIGTERM raise :class:`Interrupted`."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Interrupted(signum)

    previous = _install(handler)
    try:
        yield
    finally:
        _restore(previous)


@contextmanager
def shielded(on_signal: Callable[[int], None] | None = None) -> Iterator[list[int]]:
    """Within the block, SIGINT/SIGTERM are recorded (and reported) but do not interrupt."""
    received: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if on_signal is not None:
            on_signal(signum)

    previous = _install(handler)
    try:
        yield received
    finally:
        _restore(previous)
