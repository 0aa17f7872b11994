"""`mqdrill recover --all --kubernetes` on the real server: a kind the cluster does not serve
(its CRD absent: a real 404) holds no leftover and is no failure; a labelled leftover no ledger
knows is found and removed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.engines.chaosmesh import ChaosMeshEngine
from bridge.engines.k8s_objects import CHAOS_MESH_GROUP
from bridge.errors import KubernetesError
from bridge.k8s import CrdMissing, CustomResource, Kube, KubeOptions
from tests.realk8s.helpers import chaos_path, gone, plan
from tests.realk8s.testbed import ROOT, Bed


class WithAbsentKind(ChaosMeshEngine):
    # a kind a newer Chaos Mesh might add, not installed on this cluster
    resources = (*ChaosMeshEngine.resources, CustomResource(CHAOS_MESH_GROUP, "v1alpha1", "nosuchchaos", "NoSuchChaos"))


def test_an_absent_crd_is_a_real_404_that_the_sweep_skips(healthy: Bed, real_kubeconfig: Path) -> None:
    kube = Kube.connect(KubeOptions(kubeconfig=str(real_kubeconfig)))
    with pytest.raises(CrdMissing):
        kube.list_objects(WithAbsentKind.resources[-1], all_namespaces=True)
    assert WithAbsentKind(kube).list_leftovers() == []


def test_recover_all_kubernetes_finds_an_unrecorded_leftover_and_exits_0(
    healthy: Bed, real_kubeconfig: Path, tmp_path: Path
) -> None:
    p = plan("broker-unavailable", "pod-kill", tag="sweep")
    obj = dict(p.objects[0])
    # created behind mqdrill's back (say its machine and ledger are gone), paused so nothing happens
    obj["metadata"] = {
        **obj["metadata"],
        "annotations": {**obj["metadata"]["annotations"], "experiment.chaos-mesh.org/pause": "true"},
    }
    path = chaos_path(obj)
    healthy.admin.post(path.rsplit("/", 1)[0], obj)
    env = {**os.environ, "MQDRILL_LEDGER": str(tmp_path / "ledger"), "MQDRILL_REPORTS": str(tmp_path / "r")}
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "recover", "--all", "--kubernetes", "--kubeconfig", str(real_kubeconfig)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"chaosmesh podchaos/{obj['metadata']['namespace']}/{obj['metadata']['name']}" in done.stdout
    assert gone(healthy.admin, obj)
    again = subprocess.run(
        [sys.executable, "-m", "bridge", "recover", "--all", "--kubernetes", "--kubeconfig", str(real_kubeconfig)],
        capture_output=True, text=True, timeout=300, cwd=ROOT, env=env,
    )  # fmt: skip
    assert again.returncode == 0 and "found 0 leftover" in again.stdout, again.stdout + again.stderr


def test_a_cluster_without_the_chaosblade_crd_is_swept_without_error(healthy: Bed, real_kubeconfig: Path) -> None:
    # the same 404 path as a cluster with Chaos Mesh and no chaosblade-operator, on a kind name
    # the server really does not serve (removing the operator's CRD would break the session's operator)
    from bridge.engines.chaosblade import ChaosBladeEngine

    class NoOperator(ChaosBladeEngine):
        resources = (CustomResource("chaosblade.io", "v1alpha1", "chaosbladez", "ChaosBlade", namespaced=False),)

    kube = Kube.connect(KubeOptions(kubeconfig=str(real_kubeconfig)))
    try:
        assert NoOperator(kube).list_leftovers() == []
    except KubernetesError as exc:  # pragma: no cover - the failure this test exists for
        pytest.fail(f"the sweep failed on an absent CRD: {exc}")
