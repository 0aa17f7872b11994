"""A drill `mqdrill discover` wrote, run end to end with the Chaos Mesh engine against the real
control plane, hitting only the pods it names (issue 11).

The bed is loaded with the deployments of tests/k8s/data/discover/ — a Helm-chart-shaped RocketMQ
(every pod `app.kubernetes.io/name: rocketmq`, told apart by `app.kubernetes.io/component`; a
second release, the dashboard, an exporter sidecar, nginx on 8081), Spring Boot clients in their
own namespace (ConfigMaps, Secrets, Kafka decoys) — and the same chart again in a third namespace.
Here the real controllers make the pods (ReplicaSets, StatefulSets, owner references, hashes;
kwok plays the kubelet). Discovery runs through the CLI over every namespace with the bed's
kubeconfig and writes its drills; the broker drill it wrote runs through `run_drill` with the
wiring of `mqdrill run --kubeconfig` (preflight and selector guard against the cluster, the
engine, pod-log collectors, the ledger). Only the steady-state probe stands in: kwok runs no
containers, so there is no application to send traffic to (as in test_rbac_drills.py).

What was hit is read from the cluster while the drill runs: every pod of every namespace is
polled, and the Chaos Mesh object's records are read as the controller writes them.
"""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from bridge.cli import cli
from bridge.engines.planning import plan_drill
from bridge.runner.ledger import Ledger
from bridge.runner.lifecycle import run_drill
from bridge.spec.catalog import load_catalog
from bridge.spec.loader import load_drill
from bridge.spec.models import Drill
from bridge.spec.resolve import resolve
from tests.realk8s import helpers
from tests.realk8s.bootstrap import _pod_ready, namespace, wait_workloads_ready
from tests.realk8s.helpers import chaos_path, real_deps, short
from tests.realk8s.testbed import DEMO_NS, FILTER_ANNOTATION, Bed

DATA = Path(__file__).resolve().parents[1] / "k8s" / "data" / "discover"
MQ, SHOP, MIRROR = "rw-mq", "rw-shop", "rw-mq-mirror"  # the chart, its clients, the chart again
BROKER_POD = "rocketmq-broker-0-0"  # the one pod of the chart's StatefulSet rocketmq-broker-0
CHAOS_MESH_PAUSE = "gcr.io/google-containers/pause:latest"  # the controller's POD_FAILURE_PAUSE_IMAGE default
DRILL = f"{SHOP}.orders.broker-unavailable.{MQ}.rocketmq-broker-0.chaosmesh.yaml"
NETWORK_DRILL = f"{SHOP}.orders.network-partition.{MQ}.rocketmq-broker-0.chaosmesh.yaml"
PATHS = {
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments/{name}",
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets/{name}",
    "Service": "/api/v1/namespaces/{ns}/services/{name}",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps/{name}",
    "Secret": "/api/v1/namespaces/{ns}/secrets/{name}",
}


def manifests(file_name: str, namespaces: dict[str, str]) -> list[dict[str, Any]]:
    text = re.sub(r"\$\{(\w+)\}", lambda m: namespaces[m.group(1)], (DATA / file_name).read_text())
    return [d for d in yaml.safe_load_all(text) if d]


def _replicas(docs: list[dict[str, Any]]) -> int:
    return sum(int(d["spec"].get("replicas", 1)) for d in docs if d["kind"] in ("Deployment", "StatefulSet"))


def _images(pod: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(c["image"]) for c in pod["spec"]["containers"])


def _live(bed: Bed) -> dict[str, dict[str, Any]]:
    """Every pod of the cluster that is not being deleted, by uid."""
    items = bed.admin.get("/api/v1/pods")["items"]
    return {p["metadata"]["uid"]: p for p in items if not p["metadata"].get("deletionTimestamp")}


@pytest.fixture(scope="module")
def world(real_cluster: Bed) -> dict[str, int]:
    """The deployments, applied as an administrator would (server-side apply), every pod Ready."""
    bed = real_cluster
    docs = {
        MQ: manifests("helm-chart.yaml", {"mq": MQ}),
        SHOP: manifests("shop.yaml", {"mq": MQ, "shop": SHOP}),
        MIRROR: manifests("helm-chart.yaml", {"mq": MIRROR}),
    }
    for doc in docs[MIRROR]:  # the same chart again: only its fixed cluster IPs must differ
        if doc["kind"] == "Service" and doc["spec"].get("clusterIP") != "None":
            doc["spec"].pop("clusterIP", None)
    for ns in docs:  # all three under Chaos Mesh's namespace filter: nothing but the selector protects them
        namespace(bed, ns, {FILTER_ANNOTATION: "enabled"})
        bed.admin.wait_for(
            f"ServiceAccount default in {ns}",
            lambda ns=ns: bed.admin.get_or_none(f"/api/v1/namespaces/{ns}/serviceaccounts/default"),
            timeout_s=60,
        )
    for ns, items in docs.items():
        for doc in items:
            bed.admin.apply(PATHS[doc["kind"]].format(ns=ns, name=doc["metadata"]["name"]), doc)
    want = {ns: _replicas(items) for ns, items in docs.items()}

    def ready() -> bool | str:
        got = {ns: sum(1 for p in bed.pods(ns) if _pod_ready(p)) for ns in want}
        if got != want:
            raise ValueError(f"Ready pods {got}, want {want}")
        return True

    bed.admin.wait_for("the deployments' pods Ready", ready, timeout_s=180)
    return want


@pytest.fixture(scope="module")
def drills(world: dict[str, int], real_kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`mqdrill discover --write-drills` over every namespace, with the bed's kubeconfig."""
    out = tmp_path_factory.mktemp("discovered")
    got = CliRunner().invoke(
        cli, ["discover", "--kubeconfig", str(real_kubeconfig), "--write-drills", str(out), "--json"]
    )
    assert got.exit_code == 0, got.output
    doc = json.loads(got.stdout)
    written = {Path(p).name for p in doc["written"]}
    assert DRILL in written and NETWORK_DRILL in written, sorted(written)
    # nothing is drafted against the mirror: no client there uses its servers
    assert not any(f".{MIRROR}." in name or name.startswith(f"{MIRROR}.") for name in written)
    return out


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQDRILL_LEDGER", str(tmp_path / "ledger"))
    monkeypatch.setenv("MQDRILL_REPORTS", str(tmp_path / "reports"))


class Watch:
    """Polls every pod of the cluster and the drill's Chaos Mesh objects while a drill runs."""

    def __init__(self, bed: Bed, chaos_ns: str) -> None:
        self.bed, self.chaos_ns = bed, chaos_ns
        self.images: dict[str, set[tuple[str, ...]]] = {}  # uid → every container image list seen
        self.names: dict[str, str] = {}  # uid → ns/name
        self.records: set[str] = set()  # pod ids the controller's records named
        self.polls = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Watch:
        self._poll()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._poll()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            try:
                self._poll()
            except (OSError, ValueError):  # one missed poll; the next one sees the same state
                continue

    def _poll(self) -> None:
        for uid, pod in _live(self.bed).items():
            self.images.setdefault(uid, set()).add(_images(pod))
            self.names[uid] = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
        chaos = self.bed.admin.get(f"/apis/chaos-mesh.org/v1alpha1/namespaces/{self.chaos_ns}/podchaos")
        for obj in chaos["items"]:
            for rec in ((obj.get("status") or {}).get("experiment") or {}).get("containerRecords") or []:
                self.records.add(str(rec["id"]))
        self.polls += 1


def _settled(bed: Bed, world: dict[str, int]) -> dict[str, dict[str, Any]]:
    """Every pod Ready (an earlier test may have killed one of the demo's), then all of them by uid."""
    wait_workloads_ready(bed, DEMO_NS)

    def all_ready() -> bool | str:
        got = {ns: sum(1 for p in bed.pods(ns) if _pod_ready(p)) for ns in world}
        if got != world:
            raise ValueError(f"Ready pods {got}, want {world}")
        return True

    bed.admin.wait_for("every pod Ready", all_ready, timeout_s=120)
    return _live(bed)


def _discovered(drills: Path, cause: str) -> Drill:
    """The drill discovery wrote; with pod-failure, the scenario's other pod-level cause in its place."""
    drill = load_drill(str(drills / DRILL))
    assert drill.causes == ["pod-kill"]  # the first of the scenario's causes Chaos Mesh runs and the guard accepts
    assert drill.targets.namespace == MQ and drill.targets.container == "broker"
    assert dict(drill.targets.labels) == {
        "app.kubernetes.io/name": "rocketmq",
        "app.kubernetes.io/instance": "rocketmq",
        "app.kubernetes.io/component": "broker",
    }
    if cause != "pod-kill":
        drill = drill.model_copy(update={"causes": [cause]})
    return short(drill)


@pytest.mark.parametrize("cause", ["pod-kill", "pod-failure"])
def test_the_discovered_broker_drill_runs_end_to_end_and_hits_only_the_broker_it_names(
    healthy: Bed, real_kubeconfig: Path, world: dict[str, int], drills: Path, tmp_path: Path, cause: str
) -> None:
    bed = healthy
    drill = _discovered(drills, cause)
    before = _settled(bed, world)
    (broker_uid,) = [
        u for u, p in before.items() if p["metadata"]["name"] == BROKER_POD and p["metadata"]["namespace"] == MQ
    ]
    original = _images(before[broker_uid])
    assert original == ("apache/rocketmq:5.3.1", "apache/rocketmq-exporter:0.0.2")  # the broker and its sidecar

    with Watch(bed, MQ) as watch:
        result = run_drill(drill, real_deps(drill, real_kubeconfig), out=tmp_path / "run", source=str(drills / DRILL))
    after = _live(bed)

    assert result.status == "completed", result.reason
    steps = [
        (e["event"], e.get("state")) for e in helpers.events(result.run_dir) if e["event"] in ("inject", "recover")
    ]
    assert steps == [
        ("inject", "requested"),
        ("inject", "confirmed"),
        ("recover", "requested"),
        ("recover", "confirmed"),
    ]
    assert result.recovery_errors == [] and Ledger(tmp_path / "ledger").entries() == []
    assert watch.polls > 10, "the watch must have seen the fault window"
    # the controller's own records name the one broker pod, and nothing else
    assert watch.records == {f"{MQ}/{BROKER_POD}"}

    others = set(before) - {broker_uid}
    # every other pod — name servers, proxies, dashboard, the staging release, nginx, the clients,
    # Kafka, the same chart in another namespace, the demo's — is the same pod, never changed
    changed = {watch.names[u]: sorted(watch.images[u]) for u in others if watch.images[u] != {_images(before[u])}}
    assert changed == {}
    assert others <= set(after), [watch.names[u] for u in others - set(after)]
    if cause == "pod-failure":
        # the same pod: its images swapped for the controller's pause image, then given back
        assert watch.images[broker_uid] == {original, (CHAOS_MESH_PAUSE, CHAOS_MESH_PAUSE)}
        assert set(after) == set(before)
        assert _images(after[broker_uid]) == original
        assert not [k for k in after[broker_uid]["metadata"].get("annotations") or {} if "chaos-mesh" in k]
    else:
        # the pod was deleted, and its StatefulSet made it again: the only pod that is new
        assert broker_uid not in after
        (new,) = set(after) - set(before)
        assert watch.names[new] == f"{MQ}/{BROKER_POD}"
        assert _images(after[new]) == original
        assert _settled(bed, world)  # and it came back Ready


def test_a_discovered_network_drill_names_the_client_pods_in_their_own_namespace(
    healthy: Bed, real_kubeconfig: Path, world: dict[str, int], drills: Path
) -> None:
    """The client runs in another namespace than the broker: the NetworkChaos `target` selects it
    there. Read from the controller's records (it then fails to apply: no chaos-daemon on kwok)."""
    bed = healthy
    drill = load_drill(str(drills / NETWORK_DRILL))
    assert drill.targets.client is not None and drill.targets.client.namespace == SHOP
    (plan,) = plan_drill(resolve(drill, load_catalog(), run_id=helpers.run_id("xns")), load_catalog())
    obj = dict(plan.objects[0])
    assert obj["metadata"]["namespace"] == MQ
    assert obj["spec"]["target"] == {
        "mode": "all",
        "selector": {"namespaces": [SHOP], "labelSelectors": {"app": "orders"}},
    }
    live = _settled(bed, world)
    orders = {
        f"{SHOP}/{p['metadata']['name']}" for p in live.values() if p["metadata"]["labels"].get("app") == "orders"
    }
    assert len(orders) == 3
    eng = helpers.chaosmesh(real_kubeconfig)
    path = chaos_path(obj)
    # created as the engine creates it (its own inject would roll back at the first failure): the
    # webhooks admit it, and the records show whom the controller selected on each side
    bed.admin.post(path.rsplit("/", 1)[0], obj)
    try:

        def both_sides() -> list[dict[str, Any]] | None:
            got = bed.admin.get(path)
            recs = list(((got.get("status") or {}).get("experiment") or {}).get("containerRecords") or [])
            return recs if {r.get("selectorKey") for r in recs} >= {".", ".Target"} else None

        recs = bed.admin.wait_for("records for both sides", both_sides, timeout_s=30)
        assert {r["id"] for r in recs if r["selectorKey"] == ".Target"} == orders
        assert {r["id"] for r in recs if r["selectorKey"] == "."} == {f"{MQ}/{BROKER_POD}"}
    finally:
        eng.recover(eng.planned_handle(plan))
    assert bed.admin.get_or_none(path) is None  # recover confirmed it gone


def test_chaos_meshs_authorisation_covers_the_client_namespace_too(
    healthy: Bed, sa_kubeconfig: Path, world: dict[str, int], drills: Path
) -> None:
    """demo-k8s/rbac grants mqdrill-demo only: a NetworkChaos there whose `target` selects pods in
    another namespace is refused by Chaos Mesh's authorisation webhook (vauth.kb.io), which checks
    every namespace the object selects, in its own words."""
    from bridge.engines.k8s_objects import resource_for
    from bridge.k8s import AdmissionRefused, Kube, KubeOptions

    drill = load_drill(str(drills / NETWORK_DRILL))
    drill = drill.model_copy(update={"targets": drill.targets.model_copy(update={"namespace": DEMO_NS})})
    (plan,) = plan_drill(resolve(drill, load_catalog(), run_id=helpers.run_id("auth")), load_catalog())
    obj = dict(plan.objects[0])
    assert obj["metadata"]["namespace"] == DEMO_NS and obj["spec"]["target"]["selector"]["namespaces"] == [SHOP]
    kube = Kube.connect(KubeOptions(kubeconfig=str(sa_kubeconfig)))
    try:
        with pytest.raises(AdmissionRefused) as err:
            kube.create(resource_for(obj["apiVersion"], obj["kind"]), obj, dry_run=True)
    finally:
        kube.close()
    assert f"is forbidden on namespace {SHOP}" in str(err.value), str(err.value)
