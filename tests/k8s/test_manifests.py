"""demo-k8s/ against the Kubernetes schemas (kubernetes-validate, strict: unknown fields refused),
kustomizations that point at files that exist, RBAC that matches what the planners create, and
the hand-built chaos objects of these tests against the vendored CRD schemas."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bridge.engines.chaosmesh_plan import plan as chaosmesh_plan
from bridge.engines.k8s_objects import CHAOS_MESH_KINDS
from bridge.spec.catalog import load_catalog
from bridge.spec.resolve import resolve
from tests.k8s import plans
from tests.support.crd_schema import schema_errors
from tests.support.drills import drill

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo-k8s"
K8S_VERSION = "1.30.0"
MANIFESTS = sorted(p for p in DEMO.rglob("*.yaml") if p.name != "kustomization.yaml")
KUSTOMIZATIONS = sorted(DEMO.rglob("kustomization.yaml"))


def documents(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.mark.parametrize("path", MANIFESTS, ids=[str(p.relative_to(DEMO)) for p in MANIFESTS])
def test_manifest_validates_against_kubernetes_schemas(path: Path) -> None:
    docs = documents(path)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_an_invalid_manifest_is_caught() -> None:
    bad = documents(DEMO / "base" / "shop.yaml")[0]
    bad["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


@pytest.mark.parametrize("path", KUSTOMIZATIONS, ids=[str(p.relative_to(DEMO)) for p in KUSTOMIZATIONS])
def test_kustomization_resources_exist(path: Path) -> None:
    k = yaml.safe_load(path.read_text())
    assert k["kind"] == "Kustomization"
    for res in k["resources"]:
        target = (path.parent / res).resolve()
        assert target.is_file() or (target / "kustomization.yaml").is_file(), f"{path}: {res} is missing"


def _all_docs(*dirs: str) -> list[dict[str, Any]]:
    return [
        d
        for sub in dirs
        for p in sorted((DEMO / sub).rglob("*.yaml"))
        if p.name != "kustomization.yaml"
        for d in documents(p)
    ]


def test_base_has_rocketmq_and_the_shop_with_the_agreed_labels() -> None:
    docs = _all_docs("rocketmq", "base")
    pods = {d["metadata"]["name"]: d["spec"]["template"] for d in docs if d["kind"] in ("Deployment", "StatefulSet")}
    for name in ("rocketmq-namesrv", "rocketmq-broker", "rocketmq-proxy"):
        assert pods[name]["metadata"]["labels"]["app.kubernetes.io/name"] == name
        assert pods[name]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "rocketmq"
    assert pods["frontend"]["spec"]["containers"][0]["image"] == "mqdrill/frontend:0.1.0"
    assert pods["cartservice"]["spec"]["containers"][0]["image"] == "mqdrill/cartservice:0.1.0"
    assert {d["metadata"]["name"] for d in docs if d["kind"] == "Service"} >= {
        "rocketmq-namesrv",
        "rocketmq-broker",
        "rocketmq-proxy",
        "frontend",
        "cartservice",
        "cart-redis",
    }
    # The catalog's selectors must find these pods.
    catalog = load_catalog()
    for comp in ("namesrv", "broker", "proxy", "frontend", "cartservice"):
        k8s = catalog.components[comp].kubernetes
        assert k8s is not None
        matching = [
            n for n, t in pods.items() if all(t["metadata"]["labels"].get(k) == v for k, v in k8s.labels.items())
        ]
        assert len(matching) == 1, (comp, matching)
        assert k8s.container in [c["name"] for c in pods[matching[0]]["spec"]["containers"]]


def test_alibaba_overlay_has_nine_services_with_rocketmq_on() -> None:
    docs = _all_docs("overlays/alibaba-demo")
    workloads = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(workloads) == {
        "nacos-server",
        "frontend",
        "recommendationservice",
        "cartservice",
        "cart-redis",
        "checkoutservice",
        "checkout-mysql",
        "productservice",
        "product-mysql",
    }
    for app in ("frontend", "cartservice"):
        env = {e["name"]: e["value"] for e in workloads[app]["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["rocketmq.namesrv.addr"] == "rocketmq-namesrv:9876"
        assert env["rocketmq.topic"] == "T_CART"


def test_namespace_is_open_to_chaos_mesh_filtering() -> None:
    ns = documents(DEMO / "rocketmq" / "namespace.yaml")[0]
    assert ns["metadata"]["name"] == "mqdrill-demo"
    assert ns["metadata"]["annotations"]["chaos-mesh.org/inject"] == "enabled"


def test_rbac_creates_exactly_the_planned_kinds_and_sweeps_every_swept_kind() -> None:
    catalog = load_catalog()
    created: set[str] = set()
    for entry in catalog.entries():
        if "chaosmesh" not in entry["engines"]:  # type: ignore[operator]
            continue
        d = drill(
            scenario=entry["scenario"],
            causes=[entry["cause"]],
            engine="chaosmesh",
            targets={"namespace": "mqdrill-demo"},
        )
        for fault in resolve(d, catalog, run_id="rbac", source="test").faults:
            created |= {CHAOS_MESH_KINDS[o["kind"]] for o in chaosmesh_plan(fault, catalog).objects}
    role = documents(DEMO / "rbac" / "role.yaml")[0]
    rules: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        for g in rule["apiGroups"]:
            for r in rule["resources"]:
                rules.setdefault((g, r), set()).update(rule["verbs"])
    creatable = {r for (g, r), verbs in rules.items() if g == "chaos-mesh.org" and "create" in verbs}
    assert creatable == created  # create: only what the planners make
    swept = set(CHAOS_MESH_KINDS.values())  # what `mqdrill recover` lists, gets and deletes
    for plural in swept:
        assert rules[("chaos-mesh.org", plural)] - {"create"} == {"get", "list", "delete", "patch"}, plural
    assert rules[("", "pods/log")] == {"get"}
    assert rules[("", "events")] == {"list"}
    assert not any("*" in verbs for verbs in rules.values())
    cluster = documents(DEMO / "rbac" / "clusterrole.yaml")[0]
    assert {r for rule in cluster["rules"] for r in rule["resources"] if "chaosblade.io" in rule["apiGroups"]} == {
        "chaosblades"
    }
    cluster_listed = {
        r for rule in cluster["rules"] if "chaos-mesh.org" in rule["apiGroups"] and "list" in rule["verbs"]
        for r in rule["resources"]
    }  # fmt: skip
    assert cluster_listed == swept  # the sweep across namespaces lists every kind it knows


@pytest.mark.parametrize(
    "obj",
    [plans.pod_kill("r", "ns"), plans.network_delay("r", "ns"), plans.chaosblade("r", "ns")],
    ids=["PodChaos", "NetworkChaos", "ChaosBlade"],
)
def test_hand_built_test_objects_match_the_vendored_crds(obj: dict[str, Any]) -> None:
    assert schema_errors(obj) == []


ROOTS = ["base", "overlays/alibaba-demo", "rbac"]


@pytest.mark.parametrize("root", ROOTS)
def test_kustomize_renders_valid_objects(root: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl is missing: scripts/setup installs it (Debian kubernetes-client)")
    out = subprocess.run(
        [kubectl, "kustomize", str(DEMO / root)],
        capture_output=True,
        text=True,  # noqa: S603
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    for doc in docs:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        if doc["kind"] not in ("Namespace", "ClusterRole", "ClusterRoleBinding"):
            assert doc["metadata"]["namespace"] == "mqdrill-demo", doc["metadata"]["name"]
    images = [
        c["image"]
        for d in docs
        if d["kind"] in ("Deployment", "StatefulSet")
        for c in d["spec"]["template"]["spec"]["containers"]
    ]
    if root.startswith("overlays/alibaba-demo"):  # every placeholder image name was resolved
        assert all(i.startswith(("registry", "apache/rocketmq")) for i in images), images
