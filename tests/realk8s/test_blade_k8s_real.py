"""The ``blade`` engine in Kubernetes mode for real: drills with ``engine: blade`` run through the
wiring of `mqdrill run --kubeconfig`, the real ``blade`` 1.8.0 runs ``blade create k8s …
--kubeconfig <the bed's>``, and the real chaosblade-operator v1.8.0 reconciles what it creates.

What the real stack showed:

- ``blade create k8s`` exists only when ``yaml/chaosblade-k8s-spec-1.8.0.yaml`` lies beside blade
  (generated from the operator's own models; scripts/setup.d/70-blade.sh now makes it). Without
  it ``blade create k8s …`` prints the help of ``create``.
- blade itself only creates a cluster-scoped ChaosBlade named by the ``--uid`` we chose, then
  polls its status (up to ``--waiting-time``, 20 s) until the operator writes one. Pod delete:
  ``phase: Running`` within about 1 s, blade exits 0 with ``{"code":200,…,"result":"<uid>"}``,
  and its local record says ``Success`` (``blade status --uid`` reads only that record).
  ``blade destroy <uid>`` deletes the object (it takes the kubeconfig from its record) and the
  object is gone at once.
- An experiment inside a pod (here ``pod-process kill``): the operator execs into the node's
  chaosblade-tool pod, kwok refuses the exec, the operator writes ``phase: Error``, and blade
  exits 1 with code 54000 on stderr, quoting the operator's resStatus error. The ChaosBlade object
  stays in the API server with ``phase: Error`` until someone destroys it; mqdrill's rollback
  (``blade destroy``) removes it, and its UID was in the ledger before blade ran (so a failed
  rollback would still be found by `mqdrill recover`).
- blade 1.8.0 drops a ``--kubeconfig`` that names no file and tries the in-cluster service
  account, and it reads no ``$KUBECONFIG``; `mqdrill run --kubeconfig` did not reach the blade
  engine at all (fixed: bridge/runner/wiring.py, bridge/engines/blade_cli.py; without the fix the
  first test fails: blade got ``~/.kube/config``, absent here).
- Not verified here: anything that needs a container (kwok runs none), so no in-pod fault has its
  effect; and blade's ``--timeout`` shell (``sleep timeout+60; blade destroy``) is left to end by
  itself — it finds the experiment already destroyed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge.engines.blade import is_ours
from bridge.runner.ledger import Ledger
from bridge.runner.lifecycle import RunResult, run_drill
from tests.realk8s import helpers
from tests.realk8s.bootstrap import CHAOSBLADE_NS, PAUSE_IMAGE
from tests.realk8s.helpers import real_deps, short
from tests.realk8s.testbed import DEMO_NS, ROOT, Bed
from tests.support.drills import drill

VERSION = "1.8.0"
STEP = ROOT / "scripts" / "setup.d" / "70-blade.sh"
K8S_SPEC = f"yaml/chaosblade-k8s-spec-{VERSION}.yaml"
CHAOSBLADES = "/apis/chaosblade.io/v1alpha1/chaosblades"
# A broker to mqdrill's selector guard (by its labels), but matched by no ReplicaSet of the bed,
# which would adopt the pods and scale them away.
LABEL = "app=rocketmq-broker-bk8s"


def blade_dir() -> Path:
    root = os.environ.get("MQDRILL_TESTBED_CACHE") or str(Path.home() / ".cache" / "mqdrill" / "testbed")
    return Path(root) / f"blade-{VERSION}"


@pytest.fixture(scope="module")
def k8s_blade() -> Path:
    """The real blade with its Kubernetes spec; the set-up step adds what the cache lacks."""
    if not (blade_dir() / f".built-{VERSION}").is_file() or not (blade_dir() / K8S_SPEC).is_file():
        done = subprocess.run(["bash", str(STEP)], capture_output=True, text=True, timeout=3600, check=False)
        assert done.returncode == 0, f"70-blade failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return blade_dir() / "blade"


@pytest.fixture
def blade_env(k8s_blade: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's blade records, ledger and reports; no $KUBECONFIG, so only `--kubeconfig` can
    tell blade where the cluster is."""
    monkeypatch.setenv("MQDRILL_BLADE", str(k8s_blade))
    monkeypatch.setenv("CHAOSBLADE_DATAFILE_PATH", str(tmp_path / "chaosblade.dat"))
    monkeypatch.setenv("MQDRILL_LEDGER", str(tmp_path / "ledger"))
    monkeypatch.setenv("MQDRILL_REPORTS", str(tmp_path / "reports"))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    return k8s_blade


def bare_pod(name: str) -> dict[str, Any]:
    # Bare pods: a deleted one stays deleted, so "the named pod is gone" is not blurred by a
    # ReplicaSet's replacement.
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": DEMO_NS, "labels": dict([LABEL.split("=")])},
        "spec": {"containers": [{"name": "broker", "image": PAUSE_IMAGE}], "terminationGracePeriodSeconds": 0},
    }


def running(bed: Bed) -> dict[str, str]:
    """name -> uid of the test's pods that are Running and not being deleted."""
    return {
        p["metadata"]["name"]: p["metadata"]["uid"]
        for p in bed.pods(DEMO_NS, LABEL)
        if p.get("status", {}).get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")
    }


@pytest.fixture
def pods(healthy: Bed) -> Iterator[dict[str, str]]:
    """One target and two decoys, Running on kwok nodes; name -> uid."""
    names = ["bk8s-target", "bk8s-decoy-a", "bk8s-decoy-b"]
    for name in names:
        healthy.admin.post(f"/api/v1/namespaces/{DEMO_NS}/pods", bare_pod(name))
    healthy.admin.wait_for("the test pods Running", lambda: set(running(healthy)) == set(names), timeout_s=60)
    yield running(healthy)
    for name in names:
        healthy.admin.delete(f"/api/v1/namespaces/{DEMO_NS}/pods/{name}")  # a deleted one: 404, fine
    healthy.admin.wait_for("the test pods gone", lambda: not healthy.pods(DEMO_NS, LABEL), timeout_s=60)


def blade_drill(cause: str) -> Any:
    return short(
        drill(
            scenario="broker-unavailable",
            causes=[cause],
            engine="blade",
            targets={"namespace": DEMO_NS, "pods": ["bk8s-target"]},
        ),
        fault_s=3,
    )


def steps(result: RunResult) -> list[tuple[str, str]]:
    return [(e["event"], e["state"]) for e in helpers.events(result.run_dir) if e["event"] in ("inject", "recover")]


def ours_in_cluster(bed: Bed, run_id: str) -> list[str]:
    return [
        o["metadata"]["name"]
        for o in bed.admin.get(CHAOSBLADES).get("items", [])
        if is_ours(o["metadata"]["name"], run_id)
    ]


def blade_record(blade: Path, uid: str) -> dict[str, Any]:
    done = subprocess.run([str(blade), "status", "--uid", uid], capture_output=True, text=True, timeout=30, check=False)
    return dict(json.loads(done.stdout)["result"])


def test_blade_create_k8s_pod_delete_is_reconciled_by_the_real_operator_and_destroyed(
    healthy: Bed, real_kubeconfig: Path, pods: dict[str, str], blade_env: Path, tmp_path: Path
) -> None:
    bed = healthy
    d = blade_drill("pod-kill")
    result = run_drill(d, real_deps(d, real_kubeconfig), out=tmp_path / "run", source="test")

    assert result.status == "completed", result.reason
    assert steps(result) == [
        ("inject", "requested"),
        ("inject", "confirmed"),
        ("recover", "requested"),
        ("recover", "confirmed"),
    ]
    (uid,) = next(e["ref"] for e in helpers.events(result.run_dir) if e.get("state") == "confirmed").split(", ")
    assert is_ours(uid, result.run_id)
    # The operator deleted the named pod, and only it (same uids: not even recreated)
    left = running(bed)
    assert "bk8s-target" not in left and bed.admin.get_or_none(f"/api/v1/namespaces/{DEMO_NS}/pods/bk8s-target") is None
    assert left == {n: u for n, u in pods.items() if n != "bk8s-target"}
    # blade's record says what happened, with the bed's kubeconfig that mqdrill passed
    record = blade_record(blade_env, uid)
    assert record["Status"] == "Destroyed" and record["SubCommand"] == "pod-pod delete"
    assert f"--kubeconfig={real_kubeconfig}" in record["Flag"] and "--names=bk8s-target" in record["Flag"]
    # and `blade destroy` removed the ChaosBlade from the API server
    assert bed.admin.get_or_none(f"{CHAOSBLADES}/{uid}") is None
    assert ours_in_cluster(bed, result.run_id) == []
    assert result.recovery_errors == [] and Ledger(tmp_path / "ledger").entries() == []


def test_an_in_pod_kind_fails_in_the_operators_words_and_is_still_destroyed(
    healthy: Bed, real_kubeconfig: Path, pods: dict[str, str], blade_env: Path, tmp_path: Path
) -> None:
    bed = healthy
    target = bed.admin.get(f"/api/v1/namespaces/{DEMO_NS}/pods/bk8s-target")
    (tool,) = [
        p["metadata"]["name"]
        for p in bed.pods(CHAOSBLADE_NS, "app=chaosblade-tool")
        if p["spec"].get("nodeName") == target["spec"]["nodeName"] and not p["metadata"].get("deletionTimestamp")
    ]
    d = blade_drill("process-kill")
    result = run_drill(d, real_deps(d, real_kubeconfig), out=tmp_path / "run", source="test")

    assert result.status == "failed", result.reason
    text = str(result.reason)
    # the operator's resStatus error, as blade relays it (code 54000 on stderr)
    refusal = (
        "`pods/exec`: k8s exec failed, err: Internal error occurred: error executing command in container: "
        f'no exec found for container "chaosblade-tool" in pod "{CHAOSBLADE_NS}/{tool}"'
    )
    assert "(blade code 54000): " + refusal in text, text
    # the engine's rollback ran `blade destroy` inside the failed inject and says so; the runner
    # then recovers the UIDs the ledger held ahead (a second destroy, harmless)
    assert steps(result) == [
        ("inject", "requested"),
        ("inject", "failed"),
        ("recover", "requested"),
        ("recover", "confirmed"),
    ]
    found = re.search(r" — destroyed (mqdrill[0-9a-f]+)$", text)
    assert found, text
    uid = found.group(1)
    assert blade_record(blade_env, uid)["Status"] == "Destroyed"
    assert bed.admin.get_or_none(f"{CHAOSBLADES}/{uid}") is None
    assert ours_in_cluster(bed, result.run_id) == []
    assert running(bed) == pods  # nothing happened to any pod
    assert result.recovery_errors == [] and Ledger(tmp_path / "ledger").entries() == []
