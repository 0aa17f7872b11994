"""Discovery of RocketMQ servers and clients: over the emulator with pods made from demo-k8s's own
pod templates, the drills it writes (validated by `mqdrill validate`'s code), the CLI, and the
recognition rules on their own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from bridge.cli import cli
from bridge.discovery import Topology, Workload, discover_cluster, draft_drills, scan, write_drills
from bridge.discovery.servers import server_kind
from bridge.discovery.settings import container_settings
from bridge.drills import validate_file
from bridge.k8s import Kube
from bridge.spec.catalog import load_catalog
from tests.k8s.emulator import Emulator

DEMO = Path(__file__).resolve().parents[2] / "demo-k8s"


def pods_from(directory: str, namespace: str, replicas: int = 1) -> list[dict[str, Any]]:
    """What the controllers would make of demo-k8s's workloads: pods from their templates, owned by
    a ReplicaSet (Deployments) or the StatefulSet; and the Services and ConfigMaps as they are."""
    objs: list[dict[str, Any]] = []
    for path in sorted((DEMO / directory).rglob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] in ("Service", "ConfigMap"):
                objs.append({**doc, "metadata": {**doc["metadata"], "namespace": namespace}})
            if doc and doc["kind"] in ("Deployment", "StatefulSet"):
                template = doc["spec"]["template"]
                name = doc["metadata"]["name"]
                for i in range(replicas):
                    labels = {**template["metadata"]["labels"], "pod-template-hash": f"h{i}"}
                    owner = f"{name}-h{i}" if doc["kind"] == "Deployment" else name
                    kind = "ReplicaSet" if doc["kind"] == "Deployment" else "StatefulSet"
                    objs.append(
                        {
                            "apiVersion": "v1",
                            "kind": "Pod",
                            "metadata": {
                                "name": f"{name}-{i}",
                                "namespace": namespace,
                                "labels": labels,
                                "ownerReferences": [{"kind": kind, "name": owner, "controller": True}],
                            },
                            "spec": template["spec"],
                        }
                    )
    return objs


def load_pods(emulator: Emulator, objs: list[dict[str, Any]]) -> None:
    plural = {"Pod": "pods", "Service": "services", "ConfigMap": "configmaps"}
    for obj in objs:
        emulator.request("POST", f"/api/v1/namespaces/{obj['metadata']['namespace']}/{plural[obj['kind']]}", obj)


def used(topo: Topology, client: Workload) -> list[str]:
    return sorted(p.server.kind for p in topo.servers_of(client))


def test_demo_shop_topology_over_the_api(kube: Kube, emulator: Emulator, namespace: str, tmp_path: Path) -> None:
    load_pods(emulator, pods_from("rocketmq", namespace, replicas=2) + pods_from("base", namespace))
    load_pods(emulator, pods_from("base", namespace + "-other"))  # another namespace: not scanned
    topo = discover_cluster(kube, namespace=namespace)
    assert [(s.kind, s.name, len(s.pods)) for s in topo.servers] == [
        ("namesrv", "rocketmq-namesrv", 2),
        ("broker", "rocketmq-broker", 2),
        ("proxy", "rocketmq-proxy", 2),
    ]
    assert {s.name: dict(s.labels) for s in topo.servers}["rocketmq-broker"] == {
        "app.kubernetes.io/name": "rocketmq-broker",
        "app.kubernetes.io/component": "broker",
    }
    clients = {c.name: c for c in topo.clients}
    assert set(clients) == {"frontend", "cartservice"}  # cart-redis has no RocketMQ settings
    assert clients["frontend"].settings == {
        "endpoints": "rocketmq-proxy:8081",
        "producer_group": "PID_CART",
        "tag": "cart",
        "topic": "T_CART",
    }
    assert clients["cartservice"].settings["consumer_group"] == "CID_CART"
    # A gRPC client reaches the brokers through the proxy, never the name server itself.
    assert used(topo, clients["frontend"]) == ["broker", "proxy"]

    drafts = draft_drills(topo, load_catalog())
    names = {d.document["scenario"] for d in drafts.drills if d.document["app"] == "frontend"}
    assert {"broker-unavailable", "send-latency", "proxy-unavailable"} <= names
    assert "namesrv-unavailable" not in names
    for path in write_drills(drafts, tmp_path / "drills").written:
        result = validate_file(str(path))
        assert result.ok, result.error
        doc = yaml.safe_load(path.read_text())
        component = doc["targets"]["container"]
        if doc["causes"][0] in ("client-delay", "client-exception"):  # placed inside the client's JVM
            assert doc["targets"] == {"namespace": namespace, "container": doc["app"], "labels": {"app": doc["app"]}}
            continue
        # a network fault also names the client's side: its pods, by the selector discovery proved
        peer = (
            {"client": {"namespace": namespace, "labels": {"app": doc["app"]}}} if "network" in doc["causes"][0] else {}
        )
        assert doc["targets"] == {
            "namespace": namespace,
            "container": component,
            "labels": {"app.kubernetes.io/name": f"rocketmq-{component}", "app.kubernetes.io/component": component},
            **peer,
        }
        assert doc["steady_state"]["probe"]["frontend_url"] == f"http://frontend.{namespace}.svc.cluster.local:8080"


def test_alibaba_demo_clients_use_the_name_server(
    kube: Kube, emulator: Emulator, namespace: str, tmp_path: Path
) -> None:
    load_pods(emulator, pods_from("rocketmq", namespace) + pods_from("overlays/alibaba-demo", namespace))
    topo = discover_cluster(kube, namespace=namespace)
    clients = {c.name: c for c in topo.clients}
    assert set(clients) == {"frontend", "cartservice"}  # nacos, mysql, checkout… do not use RocketMQ
    assert clients["cartservice"].settings["namesrv"] == "rocketmq-namesrv:9876"
    assert used(topo, clients["frontend"]) == ["broker", "namesrv"]
    drafts = draft_drills(topo, load_catalog(), engine="chaosmesh")
    scenarios = {(d.document["app"], d.document["scenario"]) for d in drafts.drills}
    assert ("frontend", "namesrv-unavailable") in scenarios
    assert ("cartservice", "broker-unavailable") in scenarios
    assert ("frontend", "proxy-unavailable") not in scenarios
    for path in write_drills(drafts, tmp_path).written:
        assert validate_file(str(path)).ok


def test_cli_json_and_files(kubeconfig: Path, emulator: Emulator, namespace: str, tmp_path: Path) -> None:
    load_pods(emulator, pods_from("rocketmq", namespace) + pods_from("base", namespace))
    out = tmp_path / "drills"
    result = CliRunner().invoke(
        cli,
        ["discover", "--kubeconfig", str(kubeconfig), "--namespace", namespace, "--json", "--write-drills", str(out)],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert [s["kind"] for s in doc["servers"]] == ["namesrv", "broker", "proxy"]
    assert sorted(Path(p).name for p in doc["written"]) == sorted(p.name for p in out.iterdir())
    text = CliRunner().invoke(cli, ["discover", "--kubeconfig", str(kubeconfig), "--namespace", namespace])
    assert "proxy    " + namespace + "/rocketmq-proxy" in text.output
    assert "endpoints = rocketmq-proxy:8081" in text.output


def test_a_client_whose_address_resolves_nowhere_gets_no_drill() -> None:
    pods = [
        {
            "metadata": {"name": "orders-1", "namespace": "shop", "labels": {"app": "orders"}},
            "spec": {
                "containers": [
                    {
                        "name": "orders",
                        "image": "orders:1",
                        "env": [{"name": "JAVA_OPTS", "value": "-Xmx1g -Drocketmq.namesrv.addr=mq-namesrv:9876"}],
                    }
                ]
            },
        },
        {
            "metadata": {"name": "mq-namesrv-0", "namespace": "shop", "labels": {"app": "mq-namesrv"}},
            "spec": {"containers": [{"name": "ns", "image": "apache/rocketmq:5.3.1", "args": ["mqnamesrv"]}]},
        },
    ]
    topo = scan(pods)
    assert [c.settings for c in topo.clients] == [{"namesrv": "mq-namesrv:9876"}]
    drafts = draft_drills(topo, load_catalog())
    assert drafts.drills == ()  # Services were not read, and no workload is named mq-namesrv
    assert "resolves to no RocketMQ server" in topo.unpaired["shop/orders-1"]


@pytest.mark.parametrize(
    ("labels", "container", "kind"),
    [
        ({"app.kubernetes.io/name": "rocketmq-broker"}, {"image": "x"}, "broker"),
        ({"app": "mq"}, {"image": "apache/rocketmq:5.3.1", "command": ["sh", "mqproxy"]}, "proxy"),
        ({"app": "mq"}, {"image": "java", "args": ["org.apache.rocketmq.namesrv.NamesrvStartup"]}, "namesrv"),
        ({}, {"image": "apache/rocketmq:5.3.1", "ports": [{"containerPort": 10911}]}, "broker"),
        ({}, {"image": "registry/foo/rocketmq-namesrv:4.9"}, "namesrv"),
        ({"app": "broker"}, {"image": "nginx"}, None),  # a "broker" that is not RocketMQ
        ({"app": "web"}, {"image": "nginx", "ports": [{"containerPort": 8081}]}, None),
        ({"app": "demo"}, {"image": "myorg/rocketmq-demo:1", "ports": [{"containerPort": 8081}]}, None),
        ({"app": "kafka", "component": "broker"}, {"image": "bitnami/kafka:3.7"}, None),
        ({}, {"image": "apacherocketmq/rocketmq-dashboard:2.0.0", "ports": [{"containerPort": 8080}]}, None),
    ],
)
def test_server_recognition(labels: dict[str, str], container: dict[str, Any], kind: str | None) -> None:
    assert server_kind(labels, container) == kind


SPELLINGS = [
    "rocketmq.namesrv.addr",
    "ROCKETMQ_NAMESRV_ADDR",
    "NAMESRV_ADDR",
    "rocketmq.name-server",
    "rocketmq_namesrv_addr",
]


@given(
    st.sampled_from(SPELLINGS),
    st.text(alphabet="abcdefghij.-:0123456789", min_size=1, max_size=30),
    st.lists(st.tuples(st.text(alphabet="ABCXYZ_", min_size=1, max_size=8), st.text(max_size=10)), max_size=5),
)
def test_name_server_setting_found_in_any_spelling(name: str, value: str, noise: list[tuple[str, str]]) -> None:
    env = [{"name": n, "value": v} for n, v in noise] + [{"name": name, "value": value}]
    found = [s.value for s in container_settings({"env": env}) if s.key == "namesrv"]
    assert found[:1] == [value]
