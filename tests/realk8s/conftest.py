"""The realk8s tier: mqdrill against real components (see tests/realk8s/testbed.py).

Fixtures other test packages may use (import them from here):

- ``real_cluster`` (session): the running :class:`~tests.realk8s.testbed.Bed`; ``.kubeconfig``
  is an admin kubeconfig (context namespace ``mqdrill-demo``), ``.admin`` a REST client.
  The demo workloads run in ``mqdrill-demo`` (annotated for Chaos Mesh's namespace filter) and
  ``mqdrill-unannotated`` (not annotated). Stopped after the session; the session fails if any
  component had died or anything still listens.
- ``real_kubeconfig`` (session): the admin kubeconfig path.
- ``sa_kubeconfig`` (session): a kubeconfig with a token for the ServiceAccount ``mqdrill`` of
  demo-k8s/rbac (applied as shipped) — the identity drills are meant to run as.

Every test here is marked ``realk8s`` (``pytest -m 'not realk8s'`` leaves the tier out).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realk8s.bootstrap import apply_rbac
from tests.realk8s.testbed import DEMO_NS, ROOT, Bed, start_bed


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.realk8s)


@pytest.fixture(scope="session")
def real_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    bed = start_bed(tmp_path_factory.mktemp("realk8s"))
    dead: list[str] = []
    try:
        yield bed
        dead = [f"{p.name} had died during the tests:\n{p.tail()}" for p in bed.procs.values() if not p.running]
    finally:
        problems = bed.stop()
    if dead or problems:
        pytest.fail("test bed: " + "; ".join(dead + problems))


@pytest.fixture(scope="session")
def real_kubeconfig(real_cluster: Bed) -> Path:
    return real_cluster.kubeconfig


@pytest.fixture(scope="session")
def sa_kubeconfig(real_cluster: Bed) -> Path:
    apply_rbac(real_cluster, ROOT / "demo-k8s" / "rbac")
    return real_cluster.token_kubeconfig(
        real_cluster.dir / "sa.kubeconfig", namespace=DEMO_NS, service_account="mqdrill"
    )


@pytest.fixture
def healthy(real_cluster: Bed) -> Iterator[Bed]:
    """The bed, with every component running before and after the test (a cluster-fault test
    that stopped one must have started it again)."""
    down = [p.name for p in real_cluster.procs.values() if not p.running]
    assert not down, f"test bed components down before the test: {down}"
    yield real_cluster
    for proc in real_cluster.procs.values():
        if not proc.running:
            real_cluster.start_component(proc.name)
