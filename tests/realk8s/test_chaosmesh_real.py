"""The Chaos Mesh engine against the real controller-manager (v2.8.3, webhooks on) on a real
Kubernetes control plane with kwok nodes. What kwok cannot show: anything inside a pod (it runs
no containers), so the pod side of a fault is read from the API (pod deleted, spec patched)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import InjectionError
from tests.realk8s import helpers
from tests.realk8s.bootstrap import PAUSE_IMAGE, wait_workloads_ready
from tests.realk8s.helpers import chaos_path, gone, plan
from tests.realk8s.testbed import DEMO_NS, UNANNOTATED_NS, Bed

BROKER = "app.kubernetes.io/name=rocketmq-broker"


def live_pods(bed: Bed, selector: str, ns: str = DEMO_NS) -> dict[str, dict[str, object]]:
    return {p["metadata"]["uid"]: p for p in bed.pods(ns, selector) if not p["metadata"].get("deletionTimestamp")}


def test_pod_kill_kills_the_pod_is_confirmed_once_and_recovers_by_deletion(healthy: Bed, real_kubeconfig: Path) -> None:
    bed = healthy
    before = set(live_pods(bed, BROKER))
    p = plan("broker-unavailable", "pod-kill", tag="podkill")
    eng = helpers.chaosmesh(real_kubeconfig)
    handle = eng.inject(p)
    obj = bed.admin.get(chaos_path(dict(p.objects[0])))
    record = obj["status"]["experiment"]["containerRecords"][0]
    assert record["phase"] == "Injected" and record["injectedCount"] == 1
    # the pod was really deleted, and its ReplicaSet made another one
    bed.admin.wait_for("a new broker pod", lambda: set(live_pods(bed, BROKER)) - before, timeout_s=60)
    assert not before & set(live_pods(bed, BROKER))
    # one-shot: the object stays "injected" (AllRecovered never turns true) until it is deleted
    assert eng.status(handle).status == "injected"
    assert obj["status"]["experiment"]["desiredPhase"] == "Run"
    eng.recover(handle)
    assert gone(bed.admin, dict(p.objects[0]))
    assert eng.status(handle).status == "recovered"
    wait_workloads_ready(bed, DEMO_NS)


def test_pod_failure_patches_the_pod_and_recovery_restores_it(healthy: Bed, real_kubeconfig: Path) -> None:
    bed = healthy
    wait_workloads_ready(bed, DEMO_NS)
    (uid,) = live_pods(bed, BROKER)
    p = plan("broker-unavailable", "pod-failure", tag="podfail")
    eng = helpers.chaosmesh(real_kubeconfig)
    handle = eng.inject(p)

    def images() -> list[str]:
        pod = live_pods(bed, BROKER)[uid]
        return [c["image"] for c in pod["spec"]["containers"]]  # type: ignore[index]

    assert images() != [PAUSE_IMAGE]  # every image replaced by the controller's pause image
    assert eng.status(handle).status == "injected"
    eng.recover(handle)
    assert gone(bed.admin, dict(p.objects[0]))
    assert images() == [PAUSE_IMAGE]  # the same pod, its image given back
    assert eng.status(handle).status == "recovered"


def test_container_kill_fails_in_the_controllers_words_and_leaves_nothing(healthy: Bed, real_kubeconfig: Path) -> None:
    # The controller finds the container (kwok-pod-ready.yaml gives it an ID) but no chaos-daemon
    # to kill it with: "cannot find daemonIP on node kwok-node-…".
    p = plan("broker-unavailable", "container-kill", tag="ckill")
    with pytest.raises(InjectionError) as err:
        helpers.chaosmesh(real_kubeconfig).inject(p)
    text = str(err.value)
    assert "the controller reported a failed injection" in text and "not confirmed within" not in text
    assert "rolled back" in text
    assert gone(healthy.admin, dict(p.objects[0]))


DAEMON_KINDS = [
    ("send-latency", "network-delay"),
    ("network-loss", "network-loss"),
    ("network-partition", "network-drop"),
    ("broker-cpu-full", "cpu-full"),
    ("broker-disk-full", "disk-fill"),
    ("send-latency", "client-delay"),
    ("send-failure", "client-exception"),
]


@pytest.mark.parametrize(("scenario", "cause"), DAEMON_KINDS, ids=[c for _, c in DAEMON_KINDS])
def test_kinds_needing_chaos_daemon_fail_in_its_words_and_are_always_recovered(
    healthy: Bed, real_kubeconfig: Path, scenario: str, cause: str
) -> None:
    p = plan(scenario, cause, tag=cause[:10])
    with pytest.raises(InjectionError) as err:
        helpers.chaosmesh(real_kubeconfig).inject(p)
    text = str(err.value)
    # ended by what the controller wrote, not by our timeout; and rolled back for real
    assert "the controller reported a failed injection" in text, text
    assert "not confirmed within" not in text and "rolled back" in text, text
    assert gone(healthy.admin, dict(p.objects[0]))


def test_an_unannotated_namespace_is_named_when_the_filter_selects_no_pod(healthy: Bed, real_kubeconfig: Path) -> None:
    assert healthy.pods(UNANNOTATED_NS, BROKER)  # the pods are there; the filter hides them
    p = plan("broker-unavailable", "pod-kill", namespace=UNANNOTATED_NS, tag="filter")
    with pytest.raises(InjectionError) as err:
        helpers.chaosmesh(real_kubeconfig).inject(p)
    text = str(err.value)
    assert "no pod is selected" in text
    assert f"namespace {UNANNOTATED_NS} lacks the annotation chaos-mesh.org/inject=enabled" in text
    assert gone(healthy.admin, dict(p.objects[0]))
