"""Faults of the cluster itself, on the real components: the API server stopped mid-drill (and
started again), the Chaos Mesh controller restarted mid-drill. The cases of the emulator's
tests/k8s/test_chaosmesh.py that need a cut at an exact request stay there (a real server
cannot be stopped between two given requests)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bridge.runner.ledger import Ledger
from bridge.runner.lifecycle import run_drill
from bridge.runner.ports import Progress
from tests.realk8s import helpers
from tests.realk8s.bootstrap import PAUSE_IMAGE, wait_workloads_ready
from tests.realk8s.helpers import gone, plan, real_deps, short
from tests.realk8s.testbed import DEMO_NS, ROOT, Bed
from tests.support.drills import drill

BROKER = "app.kubernetes.io/name=rocketmq-broker"


def broker_images(bed: Bed) -> list[str]:
    (pod,) = [p for p in bed.pods(DEMO_NS, BROKER) if not p["metadata"].get("deletionTimestamp")]
    return [c["image"] for c in pod["spec"]["containers"]]


def test_recovery_is_retried_while_the_api_server_restarts(healthy: Bed, real_kubeconfig: Path) -> None:
    bed = healthy
    wait_workloads_ready(bed, DEMO_NS)
    p = plan("broker-unavailable", "pod-failure", fault_s=60, tag="apirestart")
    eng = helpers.chaosmesh(real_kubeconfig, attempts=10)  # 1 s doubling: minutes of patience
    handle = eng.inject(p)
    assert broker_images(bed) != [PAUSE_IMAGE]
    bed.stop_component("kube-apiserver")
    back = threading.Thread(target=lambda: (time.sleep(3), bed.start_component("kube-apiserver")))
    back.start()
    try:
        eng.recover(handle)  # starts while the server is down: every call retried until it answers
    finally:
        back.join()
    assert gone(bed.admin, dict(p.objects[0]))
    assert broker_images(bed) == [PAUSE_IMAGE]


def test_api_server_gone_for_the_recovery_leaves_it_to_mqdrill_recover(
    healthy: Bed, real_kubeconfig: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bed = healthy
    wait_workloads_ready(bed, DEMO_NS)
    env = {"MQDRILL_LEDGER": str(tmp_path / "ledger"), "MQDRILL_REPORTS": str(tmp_path / "reports")}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    d = short(drill(scenario="broker-unavailable", causes=["pod-failure"], engine="chaosmesh",
                    targets={"namespace": DEMO_NS}), fault_s=6)  # fmt: skip
    eng = helpers.chaosmesh(real_kubeconfig, attempts=2)  # gives up quickly: the server stays down
    stopped: list[bool] = []

    def progress(p: Progress) -> None:
        if p.phase == "fault" and not stopped:
            stopped.append(True)
            bed.stop_component("kube-apiserver")

    result = run_drill(
        d, real_deps(d, real_kubeconfig, engine_for=lambda n: eng, progress=progress), out=tmp_path / "run"
    )
    assert stopped
    assert result.status == "failed" and result.recovery_errors
    assert "mqdrill recover" in result.recovery_errors[0]
    (entry,) = Ledger(tmp_path / "ledger").entries(result.run_id)
    bed.start_component("kube-apiserver")
    assert broker_images(bed) != [PAUSE_IMAGE]  # still injected: nobody could take it back
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "recover", str(result.run_dir), "--kubeconfig", str(real_kubeconfig)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env={**os.environ, **env},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "found 1 leftover" in done.stdout and "recovered" in done.stdout
    assert Ledger(tmp_path / "ledger").entries() == []
    assert broker_images(bed) == [PAUSE_IMAGE]
    steps = [
        (e["event"], e.get("state"), e.get("by")) for e in helpers.events(result.run_dir) if e["event"] == "recover"
    ]
    assert steps[-2:] == [("recover", "requested", "recover"), ("recover", "confirmed", "recover")]


def test_the_fault_still_ends_by_its_duration_across_a_controller_restart(healthy: Bed, real_kubeconfig: Path) -> None:
    bed = healthy
    wait_workloads_ready(bed, DEMO_NS)
    p = plan("broker-unavailable", "pod-failure", fault_s=1, tag="cmrestart")  # duration 16 s
    eng = helpers.chaosmesh(real_kubeconfig)
    handle = eng.inject(p)
    bed.restart("chaos-mesh")
    bed.admin.wait_for(
        "the pod-failure ended by its duration", lambda: eng.status(handle).status == "recovered", timeout_s=120
    )
    assert broker_images(bed) == [PAUSE_IMAGE]  # the controller that came back restored it
    eng.recover(handle)  # and mqdrill's recovery still confirms: deleted, gone
    assert gone(bed.admin, dict(p.objects[0]))
