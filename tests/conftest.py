"""Session fixtures shared across test tiers, and the machine lock of scripts/test's lanes."""

from collections.abc import Generator

import pytest

from tests.support.embedded import embedded_env  # noqa: F401 - one embedded environment per session
from tests.support.machine_lock import EXCLUSIVE_MARK, holding_machine, lock_directory

# Session fixtures whose start takes both cores for half a minute (JVMs, a control plane): the
# test that starts one holds the machine alone, or another lane's drill sees a saturated machine.
HEAVY_SESSION_FIXTURES = ("embedded_env", "real_cluster")
_started: set[str] = set()


def _exclusive(item: pytest.Item) -> bool:
    if item.get_closest_marker(EXCLUSIVE_MARK) is not None:
        return True
    names = getattr(item, "fixturenames", ())
    return any(name in names and name not in _started for name in HEAVY_SESSION_FIXTURES)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    """Setup, call and teardown under the machine lock, when the test runs in one of several lanes
    (tests/support/machine_lock.py): a session fixture started by this test starts under it too."""
    directory = lock_directory()
    if directory is None:
        yield
        return
    with holding_machine(directory, exclusive=_exclusive(item)):
        yield
    _started.update(name for name in HEAVY_SESSION_FIXTURES if name in getattr(item, "fixturenames", ()))
