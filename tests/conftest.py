"""Session fixtures shared across test tiers, and the machine lock of scripts/test's lanes."""

from collections.abc import Generator

import pytest

from tests.support.embedded import embedded_env  # noqa: F401 - one embedded environment per session
from tests.support.machine_lock import EXCLUSIVE_MARK, holding_machine, lock_directory


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, None, None]:
    """Setup, call and teardown under the machine lock, when the test runs in one of several lanes
    (tests/support/machine_lock.py): a session fixture started by this test starts under it too."""
    directory = lock_directory()
    if directory is None:
        yield
        return
    with holding_machine(directory, exclusive=item.get_closest_marker(EXCLUSIVE_MARK) is not None):
        yield
