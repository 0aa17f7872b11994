"""What a cluster administrator installs on the bed before mqdrill is used: namespaces, the
CRDs (server-side apply: Chaos Mesh's are too large for a client-side one), fake nodes for kwok,
the demo workloads, Chaos Mesh's admission webhooks, and mqdrill's RBAC from demo-k8s/rbac."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tests.realk8s.rest import ApiError

if TYPE_CHECKING:
    from tests.realk8s.testbed import Bed

CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
PAUSE_IMAGE = "registry.k8s.io/pause:3.10"  # never pulled: kwok runs no container


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


def apply_crds(bed: Bed, path: Path) -> list[str]:
    names = []
    for crd in _docs(path):
        name = crd["metadata"]["name"]
        bed.admin.apply(f"{CRD_PATH}/{name}", crd)
        names.append(name)
    for name in names:
        bed.admin.wait_for(f"CRD {name} established", lambda n=name: _established(bed, n), timeout_s=60)
    return names


def _established(bed: Bed, name: str) -> bool:
    crd = bed.admin.get(f"{CRD_PATH}/{name}")
    return any(
        c["type"] == "Established" and c["status"] == "True" for c in (crd.get("status") or {}).get("conditions") or []
    )


def namespace(bed: Bed, name: str, annotations: dict[str, str] | None = None) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "annotations": annotations or {}}}
    bed.admin.apply(f"/api/v1/namespaces/{name}", body)


def before_controllers(bed: Bed) -> None:
    from tests.realk8s.testbed import CHAOS_MESH_NS, DEMO_NS, FILTER_ANNOTATION, UNANNOTATED_NS, component_dir

    namespace(bed, CHAOS_MESH_NS)
    namespace(bed, "chaosblade")
    namespace(bed, DEMO_NS, {FILTER_ANNOTATION: "enabled"})
    namespace(bed, UNANNOTATED_NS)
    apply_crds(bed, component_dir("chaos-mesh", "CHAOS_MESH") / "crd.yaml")
    apply_crds(bed, component_dir("chaosblade-operator", "CHAOSBLADE_OPERATOR") / "crd.yaml")


def workloads(bed: Bed) -> None:
    """Fake nodes (kwok manages those with its annotation) and one Deployment per demo component."""
    from tests.realk8s.testbed import DEMO_NS, NODES, UNANNOTATED_NS, WORKLOADS

    for node in NODES:
        body = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": node,
                "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
                "labels": {"kubernetes.io/hostname": node, "type": "kwok"},
            },
            "status": {
                "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
                "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            },
        }
        if bed.admin.get_or_none(f"/api/v1/nodes/{node}") is None:
            bed.admin.post("/api/v1/nodes", body)
    bed.admin.wait_for("kwok nodes Ready", lambda: all(_node_ready(bed, n) for n in NODES), timeout_s=60)
    for ns in (DEMO_NS, UNANNOTATED_NS):
        # pods are admitted only once their namespace's "default" ServiceAccount exists
        bed.admin.wait_for(
            f"ServiceAccount default in {ns}",
            lambda ns=ns: bed.admin.get_or_none(f"/api/v1/namespaces/{ns}/serviceaccounts/default"),
            timeout_s=60,
        )
        for name, (labels, container) in WORKLOADS.items():
            bed.admin.apply(
                f"/apis/apps/v1/namespaces/{ns}/deployments/{name}", deployment(name, ns, labels, container)
            )
    chaosblade_tool(bed)
    for ns in (DEMO_NS, UNANNOTATED_NS):
        wait_workloads_ready(bed, ns)


CHAOSBLADE_NS = "chaosblade"
TOOL_DAEMONSET = Path(__file__).with_name("chaosblade-tool-daemonset.yaml")


def chaosblade_tool(bed: Bed) -> None:
    """What the operator's Helm chart installs besides the operator: its ServiceAccount and the
    chaosblade-tool DaemonSet (one pod a node, Running on kwok, nothing inside)."""
    from tests.realk8s.testbed import NODES

    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "chaosblade", "namespace": CHAOSBLADE_NS}}
    bed.admin.apply(f"/api/v1/namespaces/{CHAOSBLADE_NS}/serviceaccounts/chaosblade", sa)
    (ds,) = _docs(TOOL_DAEMONSET)
    ds["metadata"]["namespace"] = CHAOSBLADE_NS
    bed.admin.apply(f"/apis/apps/v1/namespaces/{CHAOSBLADE_NS}/daemonsets/chaosblade-tool", ds)

    def on_every_node() -> bool:
        pods = bed.pods(CHAOSBLADE_NS, "app=chaosblade-tool")
        return {p["spec"].get("nodeName") for p in pods if _pod_ready(p)} >= set(NODES)

    bed.admin.wait_for("a Running chaosblade-tool pod on every node", on_every_node, timeout_s=90)


def deployment(name: str, ns: str, labels: dict[str, str], container: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": container, "image": PAUSE_IMAGE}], "terminationGracePeriodSeconds": 0},
            },
        },
    }


def wait_workloads_ready(bed: Bed, ns: str, timeout_s: float = 120) -> None:
    from tests.realk8s.testbed import WORKLOADS

    def ready() -> bool | str:
        pods = [p for p in bed.pods(ns) if not p["metadata"].get("deletionTimestamp")]
        ok = [p for p in pods if _pod_ready(p)]
        if len(ok) >= len(WORKLOADS):
            return True
        late = [
            f"{p['metadata']['name']}: {p.get('status', {}).get('phase')} {p.get('status', {}).get('conditions')}"
            for p in pods
            if not _pod_ready(p)
        ]
        # kwok sets Ready once; a pod the node controller marked NotReady while the API server
        # was down (its node's heartbeats stopped) stays so: replace it, as a kubelet would heal it
        for p in pods:
            if p.get("status", {}).get("phase") == "Running" and not _pod_ready(p):
                bed.admin.delete(f"/api/v1/namespaces/{ns}/pods/{p['metadata']['name']}", query="gracePeriodSeconds=0")
        raise ValueError("; ".join(late) or f"{len(pods)} pods")

    bed.admin.wait_for(f"demo pods Running/Ready in {ns}", ready, timeout_s=timeout_s)


def _pod_ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status", {})
    conds = status.get("conditions") or []
    return status.get("phase") == "Running" and any(c["type"] == "Ready" and c["status"] == "True" for c in conds)


def _node_ready(bed: Bed, node: str) -> bool:
    got = bed.admin.get(f"/api/v1/nodes/{node}")
    return any(c["type"] == "Ready" and c["status"] == "True" for c in got.get("status", {}).get("conditions") or [])


def webhooks(bed: Bed, ca_bundle: str) -> None:
    """Chaos Mesh's Mutating/ValidatingWebhookConfigurations as its chart renders them, with
    ``clientConfig.url`` on loopback (the controller runs outside the cluster) and our CA."""
    from tests.realk8s.testbed import CHAOS_WEBHOOK_PORT, HOST, WEBHOOK_KINDS, WEBHOOK_PLURALS

    base = f"https://{HOST}:{CHAOS_WEBHOOK_PORT}"

    def hook(name: str, path: str, resources: list[str]) -> dict[str, Any]:
        return {
            "name": name,
            "clientConfig": {"url": f"{base}{path}", "caBundle": ca_bundle},
            "failurePolicy": "Fail",
            "timeoutSeconds": 5,
            "sideEffects": "None",
            "admissionReviewVersions": ["v1", "v1beta1"],
            "rules": [
                {
                    "apiGroups": ["chaos-mesh.org"],
                    "apiVersions": ["v1alpha1"],
                    "operations": ["CREATE", "UPDATE"],
                    "resources": resources,
                }
            ],
        }

    mutating = [
        hook(f"m{k}.kb.io", f"/mutate-chaos-mesh-org-v1alpha1-{k}", [WEBHOOK_PLURALS.get(k, k)]) for k in WEBHOOK_KINDS
    ]
    validating = [
        hook(f"v{k}.kb.io", f"/validate-chaos-mesh-org-v1alpha1-{k}", [WEBHOOK_PLURALS.get(k, k)])
        for k in WEBHOOK_KINDS
        if k not in ("podiochaos", "podhttpchaos")
    ]
    auth = [hook("vauth.kb.io", "/validate-auth", ["*"])]
    reg = "/apis/admissionregistration.k8s.io/v1"
    for kind, plural, name, hooks in (
        ("MutatingWebhookConfiguration", "mutatingwebhookconfigurations", "chaos-mesh-mutation", mutating),
        ("ValidatingWebhookConfiguration", "validatingwebhookconfigurations", "chaos-mesh-validation", validating),
        ("ValidatingWebhookConfiguration", "validatingwebhookconfigurations", "chaos-mesh-validation-auth", auth),
    ):
        body = {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": kind,
            "metadata": {"name": name},
            "webhooks": hooks,
        }
        bed.admin.apply(f"{reg}/{plural}/{name}", body)
    bed.admin.wait_for("Chaos Mesh's webhook refusing a bad duration", lambda: _webhook_refuses(bed), timeout_s=60)


def _webhook_refuses(bed: Bed) -> bool:
    """A PodChaos the schema accepts and the webhook refuses: proof the webhooks are live."""
    from tests.realk8s.testbed import DEMO_NS

    bad = {
        "apiVersion": "chaos-mesh.org/v1alpha1",
        "kind": "PodChaos",
        "metadata": {"name": "testbed-webhook-probe", "namespace": DEMO_NS},
        "spec": {"action": "pod-kill", "mode": "one", "duration": "abc", "selector": {"namespaces": [DEMO_NS]}},
    }
    try:
        bed.admin.post(f"/apis/chaos-mesh.org/v1alpha1/namespaces/{DEMO_NS}/podchaos", bad, query="dryRun=All")
    except ApiError as exc:
        return "denied the request" in exc.message
    return False


def apply_rbac(bed: Bed, kustomization: Path) -> list[dict[str, Any]]:
    """demo-k8s/rbac as shipped, rendered by `kubectl kustomize` and applied server-side."""
    rendered = subprocess.run(
        ["kubectl", "kustomize", str(kustomization)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    docs = [d for d in yaml.safe_load_all(rendered) if d]
    for doc in docs:
        bed.admin.apply(object_path(doc), doc)
    return docs


def object_path(doc: dict[str, Any]) -> str:
    """The REST path of the few kinds the bed applies from manifests."""
    plural = {
        "ServiceAccount": "serviceaccounts",
        "Role": "roles",
        "RoleBinding": "rolebindings",
        "ClusterRole": "clusterroles",
        "ClusterRoleBinding": "clusterrolebindings",
    }[doc["kind"]]
    api = doc["apiVersion"]
    prefix = "/api/v1" if api == "v1" else f"/apis/{api}"
    ns = doc["metadata"].get("namespace")
    where = f"/namespaces/{ns}" if ns and doc["kind"] in ("ServiceAccount", "Role", "RoleBinding") else ""
    return f"{prefix}{where}/{plural}/{doc['metadata']['name']}"
