"""The Chaos Mesh engine over real HTTP against the emulator; the test plays the controller.

Only the cases the real components (tests/realk8s) cannot produce stay here: a second object
in one plan and 409s on it (no planner makes two), a controller that never answers or never
releases an *injected* object, on a fake clock (a real one would cost minutes and cannot be
told to hold a finalizer), a CRD missing at inject time (removing one from the shared real bed
would break its controllers), and the API server cut at an exact request (TcpProxy; a real
server cannot be stopped between two given calls). Injection, confirmation, one-shot kinds,
failures in the controller's words, RBAC refusals and webhook refusals are tested on the real
controller in tests/realk8s."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.engines.chaosmesh import ChaosMeshEngine
from bridge.errors import InjectionError, KubernetesError, RecoveryError
from bridge.k8s import Kube, KubeOptions
from tests.k8s.controllers import CM, ChaosMeshController
from tests.k8s.emulator import Emulator
from tests.k8s.fakes import FakeClock
from tests.k8s.plans import chaosmesh_plan, labels, network_delay, pod_kill
from tests.k8s.tcp_proxy import TcpProxy


def engine(kube: Kube, clock: FakeClock, **kw: object) -> ChaosMeshEngine:
    return ChaosMeshEngine(
        kube, clock=clock, confirm_timeout_s=30, recover_timeout_s=30, poll_s=2, retry_delay_s=1, **kw
    )  # type: ignore[arg-type]


def test_two_objects_and_idempotent_409(kube: Kube, emulator: Emulator, namespace: str) -> None:
    ctl = ChaosMeshController(emulator, namespace, plural="networkchaos")
    pods = ChaosMeshController(emulator, namespace)
    clock = FakeClock(on_sleep=lambda n: (ctl.tick(), pods.tick()))
    delay = network_delay("r3", namespace)
    emulator.request("POST", f"{CM}/namespaces/{namespace}/networkchaos", delay)  # left by an earlier attempt
    handle = engine(kube, clock).inject(chaosmesh_plan("r3", namespace, pod_kill("r3", namespace), delay))
    assert len(handle.data["objects"]) == 2
    engine(kube, clock).recover(handle)
    assert ctl.objects() == [] and pods.objects() == []


def test_409_of_someone_elses_object_is_refused(kube: Kube, emulator: Emulator, namespace: str) -> None:
    theirs = pod_kill("r4", namespace)
    theirs["metadata"]["labels"] = {**labels("other-run")}
    emulator.request("POST", f"{CM}/namespaces/{namespace}/podchaos", theirs)
    with pytest.raises(InjectionError, match="does not belong to run r4"):
        engine(kube, FakeClock()).inject(chaosmesh_plan("r4", namespace))
    remaining = ChaosMeshController(emulator, namespace).objects()
    assert [o["metadata"]["labels"]["mqdrill.io/run-id"] for o in remaining] == ["other-run"]


def test_unlabelled_objects_are_refused_before_anything_is_created(
    kube: Kube, emulator: Emulator, namespace: str
) -> None:
    obj = pod_kill("r5", namespace)
    del obj["metadata"]["labels"]["mqdrill.io/run-id"]
    with pytest.raises(InjectionError, match="must carry labels"):
        engine(kube, FakeClock()).inject(chaosmesh_plan("r5", namespace, obj))
    assert ChaosMeshController(emulator, namespace).objects() == []


def test_confirmation_timeout_recovers_anyway(kube: Kube, emulator: Emulator, namespace: str) -> None:
    ctl = ChaosMeshController(emulator, namespace)
    clock = FakeClock(on_sleep=lambda n: ctl.react_to_deletion())  # never injects
    with pytest.raises(InjectionError, match="not confirmed within 30s.*rolled back"):
        engine(kube, clock).inject(chaosmesh_plan("r6", namespace))
    assert ctl.objects() == []
    assert sum(clock.sleeps) >= 30


def test_stuck_finalizer_is_reported_then_force_cleaned_on_request(
    kube: Kube, emulator: Emulator, namespace: str
) -> None:
    ctl = ChaosMeshController(emulator, namespace)
    ctl.release_finalizers = False  # e.g. the chaos-daemon on the target's node is gone
    clock = FakeClock(on_sleep=lambda n: ctl.tick())
    handle = engine(kube, clock).inject(chaosmesh_plan("r7", namespace))
    with pytest.raises(RecoveryError) as err:
        engine(kube, clock).recover(handle)
    assert "finalizers still held: chaos-mesh/records" in str(err.value)
    assert "force-clean" in str(err.value)
    assert err.value.leftovers == [f"podchaos/{namespace}/mqdrill-r7-broker-pod-kill"]
    assert len(ctl.objects()) == 1
    engine(kube, clock, force_clean=True).recover(handle)
    assert ctl.objects() == []


def test_crd_not_installed(kube: Kube, emulator: Emulator, namespace: str) -> None:
    crd_path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/networkchaos.chaos-mesh.org"
    crd = emulator.request("GET", crd_path)
    emulator.request("DELETE", crd_path)
    try:
        with pytest.raises(KubernetesError, match="networkchaos.chaos-mesh.org/v1alpha1 is not installed.*Chaos Mesh"):
            engine(kube, FakeClock()).inject(chaosmesh_plan("r8", namespace, network_delay("r8", namespace)))
    finally:
        emulator.request(
            "POST",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            {k: v for k, v in crd.items() if k != "status"},
        )
    assert ChaosMeshController(emulator, namespace, "networkchaos").objects() == []


@pytest.fixture
def proxy(emulator: Emulator) -> Iterator[TcpProxy]:
    p = TcpProxy(emulator.port)
    yield p
    p.cut()


def test_api_server_gone_mid_drill(
    proxy: TcpProxy, emulator: Emulator, kube: Kube, namespace: str, tmp_path: Path
) -> None:
    config = emulator.write_kubeconfig(tmp_path / "config", server=proxy.url, namespace=namespace)
    via_proxy = Kube.connect(KubeOptions(kubeconfig=str(config), request_timeout_s=5))
    ctl = ChaosMeshController(emulator, namespace)
    clock = FakeClock(on_sleep=lambda n: ctl.tick())
    first = engine(via_proxy, clock).inject(chaosmesh_plan("r10", namespace))
    second = engine(via_proxy, clock).inject(chaosmesh_plan("r11", namespace))

    # Gone for two retry delays, then back: recovery retries and succeeds.
    proxy.cut()
    restore_at = len(clock.sleeps) + 2
    clock.on_sleep = lambda n: (proxy.start() if n == restore_at else None, ctl.tick())
    engine(via_proxy, clock).recover(first)
    assert [o["metadata"]["name"] for o in ctl.objects()] == ["mqdrill-r11-broker-pod-kill"]

    # Gone for good: recovery fails after its retries, naming what is left for `mqdrill recover`.
    proxy.cut()
    clock.on_sleep = None
    with pytest.raises(RecoveryError, match="mqdrill recover") as err:
        engine(via_proxy, clock).recover(second)
    assert err.value.leftovers == [f"podchaos/{namespace}/mqdrill-r11-broker-pod-kill"]

    # What `mqdrill recover` will do once the server answers again.
    clock.on_sleep = lambda n: ctl.tick()
    leftovers = engine(kube, clock).list_leftovers("r11")
    assert [str(r) for r in leftovers] == err.value.leftovers
    assert engine(kube, clock).delete_leftovers("r11") == leftovers
    assert engine(kube, clock).list_leftovers("r11") == []


def test_leftovers_span_namespaces_and_runs(kube: Kube, emulator: Emulator, namespace: str) -> None:
    for run, ns in (("r12", namespace), ("r13", namespace + "-b")):
        emulator.request("POST", f"{CM}/namespaces/{ns}/podchaos", pod_kill(run, ns))
    eng = engine(kube, FakeClock())
    mine = {str(r) for r in eng.list_leftovers()}
    assert {
        f"podchaos/{namespace}/mqdrill-r12-broker-pod-kill",
        f"podchaos/{namespace}-b/mqdrill-r13-broker-pod-kill",
    } <= mine
    assert [r.namespace for r in eng.list_leftovers(run_id="r13")] == [namespace + "-b"]
    assert [r.name for r in eng.list_leftovers(namespace=namespace, run_id="r12")] == ["mqdrill-r12-broker-pod-kill"]


def test_api_server_gone_while_confirming_recovery(
    proxy: TcpProxy, emulator: Emulator, namespace: str, tmp_path: Path
) -> None:
    config = emulator.write_kubeconfig(tmp_path / "config", server=proxy.url, namespace=namespace)
    via_proxy = Kube.connect(KubeOptions(kubeconfig=str(config), request_timeout_s=5))
    ctl = ChaosMeshController(emulator, namespace)
    clock = FakeClock(on_sleep=lambda n: ctl.tick())
    handle = engine(via_proxy, clock).inject(chaosmesh_plan("r14", namespace))
    ctl.release_finalizers = False  # the object lingers after the delete: mqdrill has to wait
    clock.on_sleep = lambda n: proxy.cut()  # and the API server goes away while it waits
    with pytest.raises(RecoveryError, match="deleted, but could not confirm the recovery.*cannot reach") as err:
        engine(via_proxy, clock).recover(handle)
    assert err.value.leftovers == [f"podchaos/{namespace}/mqdrill-r14-broker-pod-kill"]
