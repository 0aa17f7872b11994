"""bridge.k8s against the emulator over real HTTP: CRUD of custom objects, pods, logs, errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bridge.errors import KubernetesError
from bridge.k8s import CustomResource, Kube, KubeOptions, KubernetesUnavailable
from tests.k8s.emulator import Emulator

PODCHAOS = CustomResource("chaos-mesh.org", "v1alpha1", "podchaos", "PodChaos")
CHAOSBLADE = CustomResource("chaosblade.io", "v1alpha1", "chaosblades", "ChaosBlade", namespaced=False)


def podchaos(name: str, run_id: str = "r1") -> dict[str, object]:
    return {
        "apiVersion": "chaos-mesh.org/v1alpha1",
        "kind": "PodChaos",
        "metadata": {
            "name": name,
            "labels": {"app.kubernetes.io/managed-by": "mqdrill", "mqdrill.io/run-id": run_id},
        },
        "spec": {"action": "pod-kill", "mode": "one", "selector": {"labelSelectors": {"app": "x"}}},
    }


def test_namespaced_custom_object_lifecycle(kube: Kube, namespace: str) -> None:
    created = kube.create(PODCHAOS, podchaos("a"))
    assert created["metadata"]["namespace"] == namespace
    assert created["metadata"]["uid"]
    kube.create(PODCHAOS, podchaos("b", run_id="r2"))
    assert [o["metadata"]["name"] for o in kube.list_objects(PODCHAOS, labels={"mqdrill.io/run-id": "r1"})] == ["a"]
    patched = kube.patch(PODCHAOS, "a", {"metadata": {"annotations": {"k": "v"}}})
    assert patched["metadata"]["annotations"] == {"k": "v"}
    assert kube.delete(PODCHAOS, "a") is True
    assert kube.get(PODCHAOS, "a") is None
    assert kube.delete(PODCHAOS, "a") is False


def test_cluster_scoped_object_ignores_namespace(kube: Kube) -> None:
    body = {
        "apiVersion": "chaosblade.io/v1alpha1",
        "kind": "ChaosBlade",
        "metadata": {"name": "cb-boundary"},
        "spec": {"experiments": [{"scope": "pod", "target": "pod", "action": "delete"}]},
    }
    created = kube.create(CHAOSBLADE, body)
    assert "namespace" not in created["metadata"]
    assert kube.get(CHAOSBLADE, "cb-boundary") is not None
    status = kube.patch(CHAOSBLADE, "cb-boundary", {"status": {"phase": "Running"}}, status=True)
    assert status["status"]["phase"] == "Running"
    assert kube.delete(CHAOSBLADE, "cb-boundary")


def test_conflict_is_409(kube: Kube) -> None:
    kube.create(PODCHAOS, podchaos("dup"))
    with pytest.raises(KubernetesError) as err:
        kube.create(PODCHAOS, podchaos("dup"))
    assert err.value.status == 409
    assert "already exists" in str(err.value)


def test_require_tells_what_to_install(kube: Kube) -> None:
    kube.require(PODCHAOS)
    kube.require(CHAOSBLADE)
    missing = CustomResource("chaos-mesh.org", "v1alpha1", "kernelchaos", "KernelChaos")
    with pytest.raises(KubernetesError, match="not installed.*install Chaos Mesh") as err:
        kube.require(missing)
    assert err.value.status == 404
    with pytest.raises(KubernetesError, match="chaosblade-operator"):
        kube.require(CustomResource("chaosblade.io", "v1alpha2", "chaosblades", "ChaosBlade", namespaced=False))


def test_403_names_the_missing_permission(kube: Kube, emulator: Emulator, namespace: str) -> None:
    # The emulator has no RBAC: this canned answer is the Status a real API server sends.
    path = f"/apis/chaos-mesh.org/v1alpha1/namespaces/{namespace}/networkchaos"
    emulator.expect(
        path,
        method="POST",
        status=403,
        body={
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "reason": "Forbidden",
            "code": 403,
            "message": f'networkchaos.chaos-mesh.org is forbidden: User "system:serviceaccount:x:mqdrill" '
            f'cannot create resource "networkchaos" in API group "chaos-mesh.org" '
            f'in the namespace "{namespace}"',
        },
    )
    res = CustomResource("chaos-mesh.org", "v1alpha1", "networkchaos", "NetworkChaos")
    with pytest.raises(KubernetesError) as err:
        kube.create(res, {"apiVersion": "chaos-mesh.org/v1alpha1", "kind": "NetworkChaos", "metadata": {"name": "n"}})
    assert err.value.status == 403
    message = str(err.value)
    assert "verb 'create'" in message
    assert "'networkchaos.chaos-mesh.org'" in message
    assert f"namespace '{namespace}'" in message


def test_pods_by_labels_and_logs(kube: Kube, emulator: Emulator, namespace: str) -> None:
    for name, app in (("broker-0", "broker"), ("web-1", "web")):
        emulator.request(
            "POST",
            f"/api/v1/namespaces/{namespace}/pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": name, "labels": {"app": app}},
                "spec": {"containers": [{"name": "main", "image": "busybox"}]},
            },
        )
    assert [p["metadata"]["name"] for p in kube.list_pods(labels={"app": "broker"})] == ["broker-0"]
    # Pod logs are not modelled by the mock: canned answers, matched on the query we send.
    log_path = f"/api/v1/namespaces/{namespace}/pods/broker-0/log"
    emulator.expect(
        log_path,
        query={"container": "main", "previous": "false", "timestamps": "true"},
        body="2026-01-01T00:00:01.000000000Z now\n",
    )
    emulator.expect(
        log_path,
        query={"container": "main", "previous": "true"},
        body="2026-01-01T00:00:00.000000000Z before the restart\n",
    )
    assert kube.pod_log("broker-0", container="main", since_seconds=30).endswith(" now\n")
    assert "before the restart" in kube.pod_log("broker-0", container="main", previous=True)


def test_unreachable_server_is_unavailable(tmp_path: Path, emulator: Emulator) -> None:
    config = emulator.write_kubeconfig(tmp_path / "config", server="http://127.0.0.1:9")
    kube = Kube.connect(KubeOptions(kubeconfig=str(config), request_timeout_s=2))
    with pytest.raises(KubernetesUnavailable, match="cannot reach.*connection refused"):
        kube.list_objects(PODCHAOS)


def test_slow_server_times_out(kubeconfig: Path, emulator: Emulator, namespace: str) -> None:
    kube = Kube.connect(KubeOptions(kubeconfig=str(kubeconfig), namespace=namespace, request_timeout_s=0.5))
    emulator.expect(
        f"/apis/chaos-mesh.org/v1alpha1/namespaces/{namespace}/podchaos/slow",
        delay_ms=3000,
        times=1,
        body={"kind": "PodChaos"},
    )
    with pytest.raises(KubernetesUnavailable, match="did not answer within 0.5s"):
        kube.get(PODCHAOS, "slow")


def test_kubeconfig_context_namespace_and_bad_config(tmp_path: Path, emulator: Emulator) -> None:
    config = emulator.write_kubeconfig(tmp_path / "config", namespace="from-context")
    assert Kube.connect(KubeOptions(kubeconfig=str(config))).namespace == "from-context"
    (tmp_path / "bad").write_text("not: [a kubeconfig")
    with pytest.raises(KubernetesError, match="cannot load Kubernetes configuration"):
        Kube.connect(KubeOptions(kubeconfig=str(tmp_path / "bad")))


def test_context_option_picks_server_and_namespace(tmp_path: Path, emulator: Emulator) -> None:
    config = yaml.safe_load(emulator.write_kubeconfig(tmp_path / "config", namespace="first").read_text())
    config["clusters"].append({"name": "gone", "cluster": {"server": "http://127.0.0.1:9"}})
    config["contexts"].append(
        {"name": "other", "context": {"cluster": "gone", "user": "tester", "namespace": "second"}}
    )
    (tmp_path / "config").write_text(yaml.safe_dump(config))
    other = Kube.connect(KubeOptions(kubeconfig=str(tmp_path / "config"), context="other"))
    assert (other.namespace, other.host) == ("second", "http://127.0.0.1:9")
    current = Kube.connect(KubeOptions(kubeconfig=str(tmp_path / "config"), namespace="explicit"))
    assert (current.namespace, current.host) == ("explicit", emulator.url)


def test_inside_a_pod_without_a_service_account_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "9")
    with pytest.raises(KubernetesError, match="from in-cluster service account"):
        Kube.connect(KubeOptions())  # no kubeconfig named, and we look like a pod: in-cluster config
