"""The chaosblade engine against the real chaosblade-operator v1.8.0, with the chaosblade-tool
DaemonSet of its chart, on kwok nodes (see tests/realk8s/testbed.py).

Pod delete needs only the API: the operator really deletes the pod. Every experiment that runs
inside a pod goes, in v1.8.0, through the chaosblade-tool pod on the target's node: the operator
picks the target pod and the container ID its status carries, builds ``blade create cri …
--container-id <id> --container-runtime containerd`` and execs it in that tool pod through the
API server. There the real path ends: the API server hands the exec to the node's kubelet
endpoint, kwok, which has no container to run it in and refuses. The operator writes that
refusal into the resource's status (phase Error), mqdrill reports it in the operator's words and
deletes the object. Nothing here is emulated; only the exec's answer is kwok's, not a runtime's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bridge.errors import InjectionError
from tests.realk8s import helpers
from tests.realk8s.bootstrap import CHAOSBLADE_NS, wait_workloads_ready
from tests.realk8s.helpers import chaos_path, plan, wait_gone
from tests.realk8s.testbed import DEMO_NS, Bed

BROKER = "app.kubernetes.io/name=rocketmq-broker"


def live_pods(bed: Bed) -> list[dict[str, Any]]:
    return [p for p in bed.pods(DEMO_NS, BROKER) if not p["metadata"].get("deletionTimestamp")]


def live_uids(bed: Bed) -> set[str]:
    return {p["metadata"]["uid"] for p in live_pods(bed)}


def test_pod_delete_is_reconciled_by_the_real_operator(healthy: Bed, real_kubeconfig: Path) -> None:
    bed = healthy
    wait_workloads_ready(bed, DEMO_NS)
    (pod,) = live_pods(bed)
    p = plan("broker-unavailable", "pod-kill", engine="chaosblade", tag="cbdel")
    eng = helpers.chaosblade(real_kubeconfig)
    handle = eng.inject(p)
    obj = bed.admin.get(chaos_path(dict(p.objects[0])))
    assert obj["status"]["phase"] == "Running"
    (exp,) = obj["status"]["expStatuses"]
    (res,) = exp["resStatuses"]
    assert exp["success"] is True and res["success"] is True
    assert res["identifier"] == f"{DEMO_NS}/{pod['spec']['nodeName']}/{pod['metadata']['name']}"
    bed.admin.wait_for("the broker pod replaced", lambda: live_uids(bed) - {pod["metadata"]["uid"]}, timeout_s=60)
    assert pod["metadata"]["uid"] not in live_uids(bed)
    eng.recover(handle)
    wait_gone(bed.admin, dict(p.objects[0]))
    assert eng.status(handle).status == "recovered"
    wait_workloads_ready(bed, DEMO_NS)


# cause -> the blade target and action the operator runs in the chaosblade-tool pod (one command
# per experiment; network-drop "both" is two experiments)
IN_POD = [
    ("broker-unavailable", "process-kill", ["process kill"]),
    ("broker-unavailable", "pod-failure", ["process stop"]),
    ("send-latency", "network-delay", ["network delay"]),
    ("network-partition", "network-drop", ["network drop", "network drop"]),
    ("broker-cpu-full", "cpu-full", ["cpu fullload"]),
    ("broker-disk-full", "disk-fill", ["disk fill"]),
]


def tool_pod_on(bed: Bed, node: str) -> str:
    pods = bed.pods(CHAOSBLADE_NS, "app=chaosblade-tool")
    (name,) = [
        p["metadata"]["name"]
        for p in pods
        if p["spec"].get("nodeName") == node and not p["metadata"].get("deletionTimestamp")
    ]
    return str(name)


@pytest.mark.parametrize(("scenario", "cause", "commands"), IN_POD, ids=[c for _, c, _ in IN_POD])
def test_experiments_inside_a_pod_reach_the_tool_pod_and_stop_at_the_kubelet(
    healthy: Bed, real_kubeconfig: Path, scenario: str, cause: str, commands: list[str]
) -> None:
    bed = healthy
    wait_workloads_ready(bed, DEMO_NS)
    (pod,) = live_pods(bed)
    node, name = pod["spec"]["nodeName"], pod["metadata"]["name"]
    (status,) = pod["status"]["containerStatuses"]
    runtime, _, container_id = status["containerID"].partition("://")
    tool = tool_pod_on(bed, node)
    operator_log = bed.procs["chaosblade-operator"].log
    log_from = operator_log.stat().st_size
    p = plan(scenario, cause, engine="chaosblade", tag=f"cb{cause[:8]}")

    with pytest.raises(InjectionError) as err:
        helpers.chaosblade(real_kubeconfig).inject(p)

    text = str(err.value)
    assert "the controller reported a failed injection" in text and "phase Error" in text, text
    assert "rolled back" in text and "rolling back failed" not in text, text
    # the operator aimed at the right container: the resStatus identifier names the pod, its
    # node, its container and the container ID and runtime from the pod's status
    target = f"{DEMO_NS}/{node}/{name}/{status['name']}/{container_id}/{runtime}"
    refusal = (
        f"{target}: `pods/exec`: k8s exec failed, err: Internal error occurred: error executing command in "
        f'container: no exec found for container "chaosblade-tool" in pod "{CHAOSBLADE_NS}/{tool}"'
    )
    assert text.count(refusal) == len(commands), text
    # and it sent blade's command for that container to the tool pod on the target's node
    log = operator_log.read_bytes()[log_from:].decode(errors="replace")
    sent = [line for line in log.splitlines() if '"Exec command in pod"' in line and f"podName={tool}" in line]
    for command in commands:
        wanted = f"/opt/chaosblade/blade create cri {command} "
        suffix = f"--container-id {container_id} --container-runtime {runtime}]"
        assert any(wanted in line and suffix in line for line in sent), (command, sent)
    wait_gone(bed.admin, dict(p.objects[0]))
