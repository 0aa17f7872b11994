"""The chaosblade engine against the real chaosblade-operator v1.8.0 (no chaosblade-tool
daemonset, no kubelet: kwok nodes). Pod delete needs only the API and really happens; the
experiments that run inside a pod cannot, and must fail in the operator's words and be
recovered (see docs/kubernetes.md for what the operator writes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.errors import InjectionError
from tests.realk8s import helpers
from tests.realk8s.bootstrap import wait_workloads_ready
from tests.realk8s.helpers import chaos_path, plan, wait_gone
from tests.realk8s.testbed import DEMO_NS, Bed

BROKER = "app.kubernetes.io/name=rocketmq-broker"


def live_uids(bed: Bed) -> set[str]:
    return {p["metadata"]["uid"] for p in bed.pods(DEMO_NS, BROKER) if not p["metadata"].get("deletionTimestamp")}


def test_pod_delete_is_reconciled_by_the_real_operator(healthy: Bed, with_operator: Bed, real_kubeconfig: Path) -> None:
    bed = healthy
    wait_workloads_ready(bed, DEMO_NS)
    before = live_uids(bed)
    p = plan("broker-unavailable", "pod-kill", engine="chaosblade", tag="cbdel")
    eng = helpers.chaosblade(real_kubeconfig)
    handle = eng.inject(p)
    obj = bed.admin.get(chaos_path(dict(p.objects[0])))
    assert obj["status"]["phase"] == "Running"
    (exp,) = obj["status"]["expStatuses"]
    assert exp["success"] is True and exp["resStatuses"][0]["success"] is True
    bed.admin.wait_for("the broker pod replaced", lambda: live_uids(bed) - before, timeout_s=60)
    assert not before & live_uids(bed)
    eng.recover(handle)
    wait_gone(bed.admin, dict(p.objects[0]))
    assert eng.status(handle).status == "recovered"
    wait_workloads_ready(bed, DEMO_NS)


IN_POD = [
    ("broker-unavailable", "process-kill"),
    ("broker-unavailable", "pod-failure"),
    ("send-latency", "network-delay"),
    ("network-partition", "network-drop"),
    ("broker-cpu-full", "cpu-full"),
    ("broker-disk-full", "disk-fill"),
]


@pytest.mark.parametrize(("scenario", "cause"), IN_POD, ids=[c for _, c in IN_POD])
def test_experiments_inside_a_pod_fail_in_the_operators_words_and_are_recovered(
    healthy: Bed, with_operator: Bed, real_kubeconfig: Path, scenario: str, cause: str
) -> None:
    p = plan(scenario, cause, engine="chaosblade", tag=f"cb{cause[:8]}")
    with pytest.raises(InjectionError) as err:
        helpers.chaosblade(real_kubeconfig).inject(p)
    text = str(err.value)
    assert "the controller reported a failed injection" in text and "phase Error" in text, text
    assert "rolled back" in text and "rolling back failed" not in text, text
    wait_gone(healthy.admin, dict(p.objects[0]))
