"""Session fixtures shared across test tiers, and the machine lock of scripts/test's lanes."""

from collections.abc import Generator

import pytest
from hypothesis import settings

from tests.support.embedded import embedded_env  # noqa: F401 - one embedded environment per session
from tests.support.machine_lock import EXCLUSIVE_MARK, holding_machine, lock_directory

# Hypothesis fails an example slower than 200 ms by default: a timing goal, and those live in
# bench/, never in tests. On a busy machine (the unit lane runs niced beside drills) it would fail
# on the scheduler, not on the code.
settings.register_profile("mqdrill", deadline=None)
settings.load_profile("mqdrill")

# Session fixtures whose start takes both cores for half a minute (JVMs, a control plane): the
# test that starts one holds the machine alone, or another lane's drill sees a saturated machine.
HEAVY_SESSION_FIXTURES = ("embedded_env", "real_cluster")
_started: set[str] = set()


# Tests of the tiers that drive real services: they judge time (a drill's latency, a recovery's
# delay) or start what does. Every other test runs unlocked: it judges nothing about the machine,
# so it keeps running while another lane holds the machine alone (an environment's start).
TIER_MARKS = ("e2e", "realk8s", "realblade")


def _lock_mode(item: pytest.Item, names: tuple[str, ...]) -> str | None:
    """'exclusive', 'shared', or None (no lock) for this test in a lane."""
    if item.get_closest_marker(EXCLUSIVE_MARK) is not None:
        return "exclusive"
    if any(name in names and name not in _started for name in HEAVY_SESSION_FIXTURES):
        return "exclusive"
    if any(item.get_closest_marker(mark) is not None for mark in TIER_MARKS):
        return "shared"
    return None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    """Setup, call and teardown under the machine lock, when the test runs in one of several lanes
    (tests/support/machine_lock.py): a session fixture started by this test starts under it too."""
    directory = lock_directory()
    names = tuple(getattr(item, "fixturenames", ()))
    mode = None if directory is None else _lock_mode(item, names)
    if directory is None or mode is None:
        yield
    else:
        with holding_machine(directory, exclusive=mode == "exclusive"):
            yield
    _started.update(name for name in HEAVY_SESSION_FIXTURES if name in names)
