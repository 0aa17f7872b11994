"""Discovery on deployments shaped like the ones people run (tests/k8s/data/discover/: a community
Helm chart, the rocketmq-operator, rocketmq-docker's pod with name server and broker, Spring Boot
clients, decoys), loaded into the emulator over several namespaces: every server, admin tool,
client, pair and drill target, and the selector guard refusing a selector that hits foreign pods
in discover, `validate --cluster`, `plan --cluster` and the runner's preflight."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from bridge.cli import cli
from bridge.discovery import Topology, discover_cluster, draft_drills, write_drills
from bridge.drills import validate_file
from bridge.k8s import Kube
from bridge.runner.wiring import preflight
from bridge.spec.catalog import load_catalog
from bridge.spec.models import Drill
from tests.k8s import workload_pods
from tests.k8s.emulator import Emulator

FILES = ("helm-chart.yaml", "operator.yaml", "all-in-one.yaml", "shop.yaml")
_ids = itertools.count(1)
SECRET_VALUE_PART = "svc.cluster.local.:9876"  # only the Secret holds this spelling (trailing dot)


@pytest.fixture(scope="module")
def world(emulator: Emulator) -> dict[str, str]:
    """Fresh namespaces for the four fixture files, loaded once for the module."""
    n = next(_ids)
    ns = {k: f"rw{n}-{k}" for k in ("mq", "ops", "lab", "shop")}
    for name in FILES:
        workload_pods.load(emulator, workload_pods.objects(name, ns))
    return ns


@pytest.fixture(scope="module")
def topo(emulator: Emulator, kubeconfig: Path, world: dict[str, str]) -> Iterator[Topology]:
    from bridge.k8s import KubeOptions

    kube = Kube.connect(KubeOptions(kubeconfig=str(kubeconfig), request_timeout_s=5))
    try:
        yield discover_cluster(kube, namespaces=list(world.values()))
    finally:
        kube.close()


def _local(world: dict[str, str], text: str) -> str:
    for k, v in world.items():
        text = text.replace(v, k)
    return text


def test_every_server_by_controller_with_an_exact_selector(topo: Topology, world: dict[str, str]) -> None:
    got = {
        (s.kind, _local(world, s.ref), s.controller, len(s.pods), s.container): dict(s.labels) or list(s.target_pods)
        for s in topo.servers
    }
    chart = {"app.kubernetes.io/name": "rocketmq", "app.kubernetes.io/instance": "rocketmq"}
    assert got == {
        ("namesrv", "mq/rocketmq-nameserver", "StatefulSet/rocketmq-nameserver", 2, "nameserver"): {
            **chart,
            "app.kubernetes.io/component": "nameserver",
        },
        ("namesrv", "mq/rocketmq-staging-nameserver", "StatefulSet/rocketmq-staging-nameserver", 1, "nameserver"): {
            "app.kubernetes.io/name": "rocketmq",
            "app.kubernetes.io/instance": "rocketmq-staging",
            "app.kubernetes.io/component": "nameserver",
        },
        ("broker", "mq/rocketmq-broker-0", "StatefulSet/rocketmq-broker-0", 1, "broker"): {
            **chart,
            "app.kubernetes.io/component": "broker",
        },
        # a rollout in progress: two ReplicaSets, one Deployment, one selector without the hash
        ("proxy", "mq/rocketmq-proxy", "Deployment/rocketmq-proxy", 3, "proxy"): {
            **chart,
            "app.kubernetes.io/component": "proxy",
        },
        ("namesrv", "ops/name-service", "StatefulSet/name-service", 1, "name-service"): {"app": "name_service"},
        # the operator labels every broker StatefulSet alike: the drill names the (stable) pod
        ("broker", "ops/broker-0-master", "StatefulSet/broker-0-master", 1, "broker"): ["broker-0-master-0"],
        ("broker", "ops/broker-0-replica-1", "StatefulSet/broker-0-replica-1", 1, "broker"): ["broker-0-replica-1-0"],
        # one pod, two servers (rocketmq-docker)
        ("namesrv", "lab/rocketmq", "Deployment/rocketmq", 1, "namesrv"): {"app": "rocketmq"},
        ("broker", "lab/rocketmq", "Deployment/rocketmq", 1, "broker"): {"app": "rocketmq"},
    }
    # Kafka (component=broker), nginx on 8081 and the exporter sidecar are no RocketMQ servers
    assert not any("kafka" in s.name or "status-page" in s.name for s in topo.servers)


def test_admin_tools_are_listed_apart(topo: Topology, world: dict[str, str]) -> None:
    assert sorted((_local(world, a.ref), a.container) for a in topo.admin) == [
        ("mq/rocketmq-broker-0", "metrics"),  # the exporter sidecar beside the broker
        ("mq/rocketmq-dashboard", "dashboard"),
        ("ops/rocketmq-console", "console"),
    ]
    assert not any(c.name in ("rocketmq-dashboard", "rocketmq-console") for c in topo.clients)


def test_clients_and_their_settings(topo: Topology, world: dict[str, str]) -> None:
    clients = {_local(world, c.ref): c for c in topo.clients}
    assert set(clients) == {
        "lab/frontend",
        "shop/frontend",
        "shop/cartservice",
        "shop/orders",
        "shop/payments",
        "shop/inventory",
        "shop/shipping",
        "shop/notifier",
        "shop/billing",
    }  # analytics (Kafka Streams bindings only) is not a RocketMQ client
    assert clients["shop/orders"].controller == "Deployment/orders" and len(clients["shop/orders"].pods) == 4
    assert clients["shop/orders"].settings == {
        "namesrv": clients["shop/orders"].settings["namesrv"],
        "producer_group": "orders-producer",
        "consumer_group": "orders-pull",
        "topic": "ORDERS",
    }
    pay = clients["shop/payments"]
    assert {(s.key, s.value) for s in pay.found} == {
        ("endpoints", "10.96.10.20:8081"),
        ("topic", "PAYMENTS"),
        ("consumer_group", "payments-simple"),
        ("topic", "ORDERS"),
        ("tag", "paid"),
    }
    assert all("file application.yml" in s.origin for s in pay.found)
    inv = clients["shop/inventory"].settings
    assert inv["consumer_group"] == "inventory-group" and inv["topic"] == "ORDERS"
    assert inv["namesrv"] == f"set from Secret {world['shop']}/mq-credentials key namesrv, value hidden"
    assert clients["shop/shipping"].settings["namesrv"] == (
        f"set from Secret {world['shop']}/vault-synced-mq key addr, value unknown"
    )
    cart = clients["shop/cartservice"].found[0]
    assert (cart.name, cart.origin) == ("ROCKETMQ_NAME_SERVER", f"ConfigMap {world['shop']}/mq-settings key namesrv")


def test_pairs_exist_only_where_the_settings_resolve(topo: Topology, world: dict[str, str]) -> None:
    pairs = {(_local(world, p.client.ref), p.server.kind, _local(world, p.server.ref)) for p in topo.pairs}
    via_chart_ns = {("namesrv", "mq/rocketmq-nameserver"), ("broker", "mq/rocketmq-broker-0")}
    via_chart_proxy = {("proxy", "mq/rocketmq-proxy"), ("broker", "mq/rocketmq-broker-0")}
    expected = (
        {("lab/frontend", "namesrv", "lab/rocketmq"), ("lab/frontend", "broker", "lab/rocketmq")}
        | {("shop/frontend", *s) for s in via_chart_proxy}
        | {("shop/payments", *s) for s in via_chart_proxy}
        | {("shop/cartservice", *s) for s in via_chart_ns}
        | {("shop/orders", *s) for s in via_chart_ns}
        | {("shop/inventory", *s) for s in via_chart_ns}
        | {
            ("shop/billing", "namesrv", "ops/name-service"),
            ("shop/billing", "broker", "ops/broker-0-master"),
            ("shop/billing", "broker", "ops/broker-0-replica-1"),
        }
    )
    assert pairs == expected  # nobody uses the staging name server; notifier's short name is not in its namespace
    assert "resolves to no RocketMQ server" in topo.unpaired[f"{world['shop']}/notifier"]
    assert "value unknown: cannot tell" in topo.unpaired[f"{world['shop']}/shipping"]
    why = {(_local(world, p.client.ref), p.server.kind): _local(world, p.why) for p in topo.pairs}
    assert why[("shop/frontend", "proxy")] == (
        "ROCKETMQ_PROXY_ENDPOINTS=rocketmq-proxy.mq:8081 (env) → Service mq/rocketmq-proxy"
    )
    assert "cluster IP of Service mq/rocketmq-proxy" in why[("shop/payments", "proxy")]
    assert "pod rocketmq-nameserver-0 of Service mq/rocketmq-nameserver-headless" in why[("shop/orders", "namesrv")]
    assert "pod IP 10.1.0.11" in why[("shop/billing", "namesrv")]
    assert "-n=localhost:9876 (args) → the same pod" in why[("lab/frontend", "broker")]
    assert why[("shop/inventory", "namesrv")].endswith("value hidden) resolves to it")


def test_drill_targets(topo: Topology, world: dict[str, str]) -> None:
    drafts = draft_drills(topo, load_catalog(), engine="chaosmesh")
    got = {
        _local(world, d.file_name): (d.document["causes"][0], _local(world, json.dumps(d.document["targets"])))
        for d in drafts.drills
    }
    chart_broker = json.dumps(
        {
            "namespace": "mq",
            "labels": {
                "app.kubernetes.io/name": "rocketmq",
                "app.kubernetes.io/instance": "rocketmq",
                "app.kubernetes.io/component": "broker",
            },
            "container": "broker",
        }
    )
    lab_broker = json.dumps({"namespace": "lab", "labels": {"app": "rocketmq"}, "container": "broker"})
    assert got["shop.frontend.broker-unavailable.mq.rocketmq-broker-0.chaosmesh.yaml"] == ("pod-kill", chart_broker)
    assert got["shop.cartservice.broker-unavailable.mq.rocketmq-broker-0.chaosmesh.yaml"] == ("pod-kill", chart_broker)
    assert got["shop.frontend.proxy-unavailable.mq.rocketmq-proxy.chaosmesh.yaml"][0] == "pod-kill"
    assert got["shop.cartservice.namesrv-unavailable.mq.rocketmq-nameserver.chaosmesh.yaml"][0] == "pod-kill"
    # the operator's brokers: no label tells them apart, so the drill names the StatefulSet's pod
    operator_broker = json.dumps({"namespace": "ops", "pods": ["broker-0-master-0"], "container": "broker"})
    assert got["shop.billing.broker-unavailable.ops.broker-0-master.chaosmesh.yaml"] == ("pod-kill", operator_broker)
    # a client-side cause acts in the client's own JVM: the client's selector, one drill whatever broker
    orders = json.dumps({"namespace": "shop", "labels": {"app": "orders"}, "container": "orders"})
    assert got["shop.orders.send-failure.mq.rocketmq-broker-0.chaosmesh.yaml"] == ("client-exception", orders)
    assert "shop.billing.send-failure.ops.broker-0-master.chaosmesh.yaml" in got
    assert "shop.billing.send-failure.ops.broker-0-replica-1.chaosmesh.yaml" not in got
    assert any("broker-0-replica-1 × send-failure: the same drill as" in s for s in drafts.skipped)
    # the pod holding the name server too: a container kill, never a pod kill
    assert got["lab.frontend.broker-unavailable.lab.rocketmq.chaosmesh.yaml"] == ("container-kill", lab_broker)
    assert "lab.frontend.namesrv-unavailable.lab.rocketmq.chaosmesh.yaml" not in got
    assert any("namesrv-unavailable" in s and "also runs RocketMQ broker" in s for s in drafts.skipped)
    # a client in another namespace: the network drill names its side (NetworkChaos `target`) in its own
    client_side = {"client": {"namespace": "shop", "labels": {"app": "orders"}}}
    assert got["shop.orders.network-loss.mq.rocketmq-broker-0.chaosmesh.yaml"] == (
        "network-loss",
        json.dumps({**json.loads(chart_broker), **client_side}),
    )
    assert got["shop.orders.network-partition.mq.rocketmq-broker-0.chaosmesh.yaml"][0] == "network-drop"
    # the other engines cannot name it: no network drill across namespaces for them
    blade = draft_drills(topo, load_catalog(), engine="chaosblade")
    assert not any(".network-" in d.file_name and d.file_name.startswith(world["shop"]) for d in blade.drills)
    assert any("cannot name the client side of a network fault in another namespace" in s for s in blade.skipped)
    # two frontends in two namespaces: different files
    assert len({d.file_name for d in drafts.drills}) == len(drafts.drills)
    for d in drafts.drills:
        Drill.model_validate(d.document)
        t = d.document["targets"]
        assert t["namespace"] in world.values() and (t.get("labels") or t.get("pods"))


def test_every_client_that_reaches_a_server_gets_drills(topo: Topology, world: dict[str, str]) -> None:
    drafts = draft_drills(topo, load_catalog())
    assert {d.document["app"] for d in drafts.drills} == {
        "frontend",
        "cartservice",
        "orders",
        "payments",
        "inventory",
        "billing",
    }  # notifier and shipping reach no server: no drill, and the topology says why
    by_app = {d.document["app"]: d for d in drafts.drills if "broker-unavailable" in d.file_name}
    # the demo shop keeps its preset; any other client gets an http probe on the Service in front of it
    cart = by_app["cartservice"]
    assert cart.document["steady_state"] == {
        "probe": {"frontend_url": f"http://frontend.{world['shop']}.svc.cluster.local:8080"}
    }
    assert cart.user_parts == ()
    orders = by_app["orders"]
    probe = orders.document["steady_state"]["probes"][0]
    assert probe["kind"] == "http" and probe["base_url"] == f"http://orders.{world['shop']}.svc.cluster.local:80"
    assert any("replace it with the request whose work goes through RocketMQ" in p for p in orders.user_parts)
    assert any("topic ORDERS" in p for p in orders.user_parts)
    metrics = f"metrics at http://orders.{world['shop']}.svc.cluster.local:9404/metrics"
    assert any(metrics in p for p in orders.user_parts)
    payments = next(d for d in drafts.drills if d.document["app"] == "payments")
    assert any("no Service selects the pods" in p and "is a guess" in p for p in payments.user_parts)


def test_write_drills_keeps_edited_files(topo: Topology, tmp_path: Path) -> None:
    drafts = draft_drills(topo, load_catalog())
    first = write_drills(drafts, tmp_path)
    assert len(first.written) == len(drafts.drills) and not first.kept
    again = write_drills(drafts, tmp_path)
    assert again.written == () and len(again.unchanged) == len(drafts.drills)
    edited = first.written[0]
    edited.write_text(edited.read_text().replace("mode: one", "mode: one") + "windows: {fault: 2m}\n")
    third = write_drills(drafts, tmp_path)
    assert third.kept == (edited,) and "windows: {fault: 2m}" in edited.read_text()
    for path in tmp_path.iterdir():
        text = path.read_text()
        assert SECRET_VALUE_PART not in text
        assert validate_file(str(path)).ok, validate_file(str(path)).error
        if "steady_state:\n  probes:" in text:
            assert "# YOUR PART (discovery cannot know it" in text and "#   TODO(you): " in text


def test_cli_never_prints_a_secret(kubeconfig: Path, world: dict[str, str], tmp_path: Path) -> None:
    args = ["discover", "--kubeconfig", str(kubeconfig)] + [a for ns in world.values() for a in ("-n", ns)]
    text = CliRunner().invoke(cli, args)
    as_json = CliRunner().invoke(cli, [*args, "--json", "--write-drills", str(tmp_path)])
    assert text.exit_code == 0 and as_json.exit_code == 0, text.output + as_json.output
    assert "Admin tools (listed, never judged as applications):" in text.output
    assert SECRET_VALUE_PART not in text.output and SECRET_VALUE_PART not in as_json.output
    doc = json.loads(as_json.output)
    assert {a["name"] for a in doc["admin_tools"]} == {"rocketmq-broker-0", "rocketmq-dashboard", "rocketmq-console"}


def _default_kubeconfig(monkeypatch: pytest.MonkeyPatch, kubeconfig: Path, home: Path) -> None:
    """The runner connects with the default kubeconfig (~/.kube/config): point HOME at the emulator's."""
    (home / ".kube").mkdir(parents=True, exist_ok=True)
    (home / ".kube" / "config").write_text(kubeconfig.read_text())
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


def _mqdrill(*args: str) -> tuple[int, str]:
    """Exit code and text as `mqdrill` would give them (errors become their exit code and message)."""
    result = CliRunner().invoke(cli, list(args), standalone_mode=False)
    if result.exception is not None:
        return int(getattr(result.exception, "exit_code", 1)), result.output + str(result.exception)
    return int(result.return_value or 0), result.output


def _drill(tmp_path: Path, world: dict[str, str], labels: dict[str, str], **extra: Any) -> Path:
    doc = {
        "apiVersion": "mqdrill/v1",
        "kind": "Drill",
        "scenario": "broker-unavailable",
        "causes": ["pod-kill"],
        "engine": "chaosmesh",
        "targets": {"namespace": world["mq"], "labels": labels, "container": "broker", **extra},
    }
    path = tmp_path / "drill.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_selector_that_matches_foreign_pods_is_refused_everywhere(
    kubeconfig: Path, world: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = _drill(tmp_path, world, {"app.kubernetes.io/name": "rocketmq"})  # the chart's shared name label
    code, said = _mqdrill("validate", "--cluster", "--kubeconfig", str(kubeconfig), str(shared))
    assert code == 2, said
    assert "would hit pods outside the broker it names" in said
    for pod in ("rocketmq-nameserver-0 (runs RocketMQ namesrv)", "rocketmq-dashboard-", "rocketmq-proxy-"):
        assert pod in said
    code, said = _mqdrill("plan", "--cluster", "--kubeconfig", str(kubeconfig), str(shared))
    assert code != 0 and "rocketmq-nameserver-1 (runs RocketMQ namesrv)" in said
    _default_kubeconfig(monkeypatch, kubeconfig, tmp_path / "home")
    reason = preflight(Drill.model_validate(yaml.safe_load(shared.read_text())))
    assert reason is not None and "rocketmq-nameserver-0 (runs RocketMQ namesrv)" in reason
    # the exact selector passes all three
    exact = _drill(
        tmp_path,
        world,
        {
            "app.kubernetes.io/name": "rocketmq",
            "app.kubernetes.io/instance": "rocketmq",
            "app.kubernetes.io/component": "broker",
        },
    )
    code, said = _mqdrill("validate", "--cluster", "--kubeconfig", str(kubeconfig), str(exact))
    assert code == 0, said
    assert preflight(Drill.model_validate(yaml.safe_load(exact.read_text()))) is None


def test_the_guard_refuses_spanning_workloads_and_shared_pods(
    kubeconfig: Path, world: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _default_kubeconfig(monkeypatch, kubeconfig, tmp_path / "home")
    operator = Drill.model_validate(
        {
            "apiVersion": "mqdrill/v1",
            "kind": "Drill",
            "scenario": "broker-unavailable",
            "causes": ["pod-kill"],
            "engine": "chaosblade",
            "targets": {"namespace": world["ops"], "labels": {"app": "broker"}, "container": "broker"},
        }
    )
    reason = preflight(operator)
    assert reason is not None and "spans 2 workloads" in reason and "StatefulSet/broker-0-replica-1" in reason
    shared_pod = operator.model_copy(
        update={
            "targets": operator.targets.model_copy(update={"namespace": world["lab"], "labels": {"app": "rocketmq"}})
        }
    )
    reason = preflight(shared_pod)
    assert reason is not None and "also runs RocketMQ namesrv (pod-kill hits the whole pod)" in reason
    assert preflight(shared_pod.model_copy(update={"causes": ["container-kill"]})) is None


def test_least_privilege_degrades_with_notes(emulator: Emulator, kubeconfig: Path) -> None:
    """Only `list pods` granted: Services, Endpoints, ReplicaSets and Secrets answer 403 (canned, the
    emulator has no RBAC); discovery still pairs by name, names Deployments from ReplicaSet names,
    and says what it could not read."""
    from bridge.k8s import KubeOptions

    ns = f"deg{next(_ids)}-lab"
    secret_client = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "batch-0", "namespace": ns, "labels": {"app": "batch"}},
        "spec": {
            "containers": [
                {
                    "name": "batch",
                    "image": "shop/batch:1",
                    "env": [{"name": "NAMESRV_ADDR", "valueFrom": {"secretKeyRef": {"name": "mq", "key": "addr"}}}],
                }
            ]
        },
    }
    workload_pods.load(emulator, [*workload_pods.objects("all-in-one.yaml", {"lab": ns}), secret_client])
    emulator.expect(f"/api/v1/namespaces/{ns}/secrets/mq", status=403, body={"kind": "Status", "code": 403})
    forbidden = {"kind": "Status", "status": "Failure", "reason": "Forbidden", "code": 403, "message": "forbidden"}
    for path in (f"/api/v1/namespaces/{ns}/services", f"/api/v1/namespaces/{ns}/endpoints"):
        emulator.expect(path, status=403, body=forbidden)
    emulator.expect(f"/apis/apps/v1/namespaces/{ns}/replicasets", status=403, body=forbidden)
    kube = Kube.connect(KubeOptions(kubeconfig=str(kubeconfig), request_timeout_s=5))
    try:
        topo = discover_cluster(kube, namespaces=[ns])
    finally:
        kube.close()
    assert [n.split(" (")[0] for n in topo.notes] == [
        "services not listed",
        "endpoints not listed",
        "replicasets not listed",
        f"secrets {ns}/mq not read",
    ]
    batch = next(c for c in topo.clients if c.name == "batch-0")
    assert batch.settings == {"namesrv": f"set from Secret {ns}/mq key addr, value unknown"}
    assert "addresses are matched to workloads by name only" in topo.notes[0]
    assert [(s.kind, s.controller) for s in topo.servers] == [
        ("namesrv", "Deployment/rocketmq"),
        ("broker", "Deployment/rocketmq"),
    ]
    why = {p.server.kind: p.why for p in topo.pairs}
    assert set(why) == {"namesrv", "broker"}
    assert f"workload {ns}/rocketmq by name (Services could not be read)" in why["namesrv"]
