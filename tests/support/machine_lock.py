"""One machine, several test lanes: a readers-writer lock across the lanes' pytest processes.

``scripts/test --lanes`` runs its lanes side by side (tests/support/lanes.py). Every test of the tiers
that drive real services (e2e, realk8s, realblade) holds the machine *shared* from its setup to its
teardown; the unit tier judges nothing about the machine and takes no lock (tests/conftest.py). A
test marked ``machine_exclusive`` holds it alone. Those are the tests whose fault, or whose own
environment, takes the 2 cores (cpu fullload, the broker's cpu-full, a second whole environment):
beside another lane's drill they would make that drill's machine busy, and the drill rightly
calls its verdict inconclusive.

Two ``flock`` files make the lock fair: the turnstile, taken alone by everyone on the way in and
held by an exclusive test until it has the machine, stops new shared holders from starving a
waiting exclusive one. flock locks end with their process, so a killed lane never wedges another.
Outside those lanes (no ``MQDRILL_TEST_MACHINE_LOCK``) nothing is locked.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_ENV = "MQDRILL_TEST_MACHINE_LOCK"
EXCLUSIVE_MARK = "machine_exclusive"


@contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, mode)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def holding_machine(directory: Path, exclusive: bool) -> Iterator[None]:
    """Hold the machine shared (any number of lanes) or alone, fairly, for the ``with`` body."""
    directory.mkdir(parents=True, exist_ok=True)
    turnstile, machine = directory / "turnstile.lock", directory / "machine.lock"
    if exclusive:
        with _flock(turnstile, fcntl.LOCK_EX), _flock(machine, fcntl.LOCK_EX):
            yield
        return
    with _flock(turnstile, fcntl.LOCK_EX):
        fd = os.open(machine, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_SH)
    try:
        yield
    finally:
        os.close(fd)


def held_alone(directory: Path) -> bool:
    """Whether some process holds the machine alone right now (it never waits, and takes nothing it
    keeps: a shared hold it gets is released at once)."""
    try:
        fd = os.open(directory / "machine.lock", os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def lock_directory() -> Path | None:
    value = os.environ.get(LOCK_ENV)
    return Path(value) if value else None
