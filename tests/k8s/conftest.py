"""Session-wide Kubernetes API emulator (fabric8 kubernetes-server-mock, CRUD mode) with the
vendored Chaos Mesh and ChaosBlade CRDs registered through apiextensions, and a kubeconfig."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.k8s import Kube, KubeOptions
from tests.k8s.emulator import Emulator, start_emulator

_names = itertools.count(1)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    emu = start_emulator()
    try:
        emu.register_crds()
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="session")
def kubeconfig(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return emulator.write_kubeconfig(tmp_path_factory.mktemp("kube") / "config", namespace="mqdrill-demo")


@pytest.fixture
def namespace() -> str:
    """A fresh namespace per test: the emulator is shared, tests must not see each other."""
    return f"ns-{next(_names)}"


@pytest.fixture
def kube(kubeconfig: Path, namespace: str) -> Iterator[Kube]:
    k = Kube.connect(KubeOptions(kubeconfig=str(kubeconfig), namespace=namespace, request_timeout_s=5))
    yield k
    k.close()


@pytest.fixture(autouse=True)
def _clear_expectations(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "emulator" in request.fixturenames:
        request.getfixturevalue("emulator").clear_expectations()
