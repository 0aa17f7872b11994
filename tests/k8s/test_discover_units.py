"""Discovery's parts on their own (no cluster): the settings vocabulary in every documented form,
exact selectors (a property: whatever the labels, a selector found selects exactly its workload),
address parsing, the selector guard, checksummed drill files, Secrets never shown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.discovery.files import is_pristine, render_file
from bridge.discovery.guard import check_selector
from bridge.discovery.model import Setting, Workload
from bridge.discovery.reach import split_addresses
from bridge.discovery.settings import container_settings
from bridge.discovery.vocabulary import TERMS, key_of, markdown_table
from bridge.discovery.workloads import build_selector, labels_of, matches, name_of

DOCS = Path(__file__).resolve().parents[2] / "docs" / "kubernetes.md"
PLAIN = [t for t in TERMS if "*" not in t.spelling]


def test_the_documented_table_is_the_vocabulary() -> None:
    assert markdown_table() in DOCS.read_text()


def _env_form(spelling: str) -> str:
    return spelling.replace("-", "").replace(".", "_").upper()


@given(st.sampled_from(PLAIN), st.sampled_from(["env", "env-form", "java-opts", "spring-arg", "json"]))
def test_every_term_is_found_in_every_form(term: Any, form: str) -> None:
    value = "rocketmq-nameserver.mq:9876"
    container: dict[str, Any] = {"name": "app", "image": "shop/app:1"}
    if form == "env":
        container["env"] = [{"name": term.spelling, "value": value}]
    elif form == "env-form":
        container["env"] = [{"name": _env_form(term.spelling), "value": value}]
    elif form == "java-opts":
        container["env"] = [{"name": "JAVA_OPTS", "value": f"-Xmx1g -D{term.spelling}={value} -Dother=1"}]
    elif form == "spring-arg":
        container["args"] = ["--server.port=8080", f"--{term.spelling}={value}"]
    else:
        container["env"] = [{"name": "SPRING_APPLICATION_JSON", "value": json.dumps({term.spelling: value})}]
    found = container_settings(container)
    assert [(s.key, s.value) for s in found] == [(term.key, value)]


def test_stream_bindings_and_lookalikes() -> None:
    assert key_of("spring.cloud.stream.bindings.orders-in-0.group") == "consumer_group"
    assert key_of("SPRING_CLOUD_STREAM_BINDINGS_INPUT_DESTINATION") == "topic"
    assert key_of("spring.cloud.stream.rocketmq.bindings.out.producer.group") == "producer_group"
    for name in ("KAFKA_BROKERS", "spring.kafka.bootstrap-servers", "BROKER_URL", "rocketmq.access-key"):
        assert key_of(name) is None


def test_value_from_unreadable_objects_is_unknown_and_secrets_hidden() -> None:
    container = {
        "env": [
            {"name": "NAMESRV_ADDR", "valueFrom": {"secretKeyRef": {"name": "mq", "key": "addr"}}},
            {"name": "ROCKETMQ_TOPIC", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "topic"}}},
        ]
    }
    found = container_settings(container, namespace="shop")
    assert [s.shown() for s in found] == [
        "set from Secret shop/mq key addr, value unknown",
        "set from ConfigMap shop/cfg key topic, value unknown",
    ]
    hidden = Setting("namesrv", "NAMESRV_ADDR", "10.0.0.1:9876", "Secret shop/mq key addr", secret=True)
    w = Workload("client", "a", "shop", "Deployment/a", {}, (), (), found=(hidden,))
    assert "10.0.0.1" not in json.dumps(w.to_json()) and w.values("namesrv") == ["10.0.0.1:9876"]


def test_addresses() -> None:
    assert split_addresses("a:9876;b.mq:9876") == ["a", "b.mq"]
    assert split_addresses("http://rocketmq-proxy.mq.svc.cluster.local:8081") == ["rocketmq-proxy.mq.svc.cluster.local"]
    assert split_addresses("10.0.0.1:8081, 10.0.0.2:8081") == ["10.0.0.1", "10.0.0.2"]
    assert split_addresses("[fd00::1]:9876") == ["fd00::1"]


def _pod(name: str, labels: dict[str, str], ns: str = "mq", owner: str | None = None, **container: Any) -> Any:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": labels}
    if owner:
        meta["ownerReferences"] = [{"kind": "StatefulSet", "name": owner, "controller": True}]
    c = {"name": container.pop("cname", "main"), "image": "apache/rocketmq:5.3.1", **container}
    return {"metadata": meta, "spec": {"containers": [c]}}


LABEL_KEYS = ["app", "app.kubernetes.io/name", "app.kubernetes.io/component", "tier", "pod-template-hash"]


@settings(max_examples=200)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.dictionaries(st.sampled_from(LABEL_KEYS), st.sampled_from("ab"), max_size=4)),
        min_size=1,
        max_size=10,
    )
)
def test_a_selector_found_selects_exactly_its_workload(pods: list[tuple[int, dict[str, str]]]) -> None:
    objs = [_pod(f"p{i}", labels, owner=f"w{w}") for i, (w, labels) in enumerate(pods)]
    for w in {w for w, _ in pods}:
        own = [o for o, (ow, _) in zip(objs, pods, strict=True) if ow == w]
        selector, foreign = build_selector(own, objs)
        if selector is None:
            continue
        assert "pod-template-hash" not in selector
        assert {name_of(p) for p in objs if matches(labels_of(p), selector)} == {name_of(p) for p in own}


CHART = {"app.kubernetes.io/name": "rocketmq", "app.kubernetes.io/instance": "rocketmq"}
PODS = [
    _pod("ns-0", {**CHART, "app.kubernetes.io/component": "nameserver"}, owner="ns", command=["mqnamesrv"]),
    _pod("broker-0", {**CHART, "app.kubernetes.io/component": "broker"}, owner="broker", command=["mqbroker"]),
    _pod("broker-b-0", {**CHART, "app.kubernetes.io/component": "broker"}, owner="broker-b", command=["mqbroker"]),
    _pod("web-0", {**CHART, "app.kubernetes.io/component": "web"}, owner="web", image="nginx:1.27"),
]


def test_the_guard() -> None:
    refused = check_selector(PODS, namespace="mq", labels=CHART, component="broker")
    assert refused is not None and refused.pods == ("ns-0", "web-0")
    assert "ns-0 (runs RocketMQ namesrv)" in refused.reason and "web-0 (not a RocketMQ server: nginx:1.27)" in str(
        refused
    )
    spans = check_selector(
        PODS, namespace="mq", labels={**CHART, "app.kubernetes.io/component": "broker"}, component="broker"
    )
    assert spans is not None and "spans 2 workloads" in spans.reason
    one = check_selector(PODS, namespace="mq", labels=CHART, pod_names=["broker-0"], component="broker")
    assert one is None
    assert check_selector(PODS, namespace="other", labels=CHART, component="broker") is not None
    wrong = check_selector(
        PODS, namespace="mq", labels=CHART, pod_names=["broker-0"], component="broker", container="x"
    )
    assert wrong is not None and "has no container 'x'" in wrong.reason


def test_the_guard_checks_the_client_side_of_a_network_fault_in_its_own_namespace() -> None:
    from bridge.discovery.guard import check_fault
    from bridge.spec.catalog import load_catalog
    from bridge.spec.resolve import resolve
    from tests.support.drills import drill

    client = [
        _pod("orders-1", {"app": "orders"}, ns="shop", owner="orders", image="shop/orders:1.5.0"),
        _pod("orders-2", {"app": "orders"}, ns="shop", owner="orders", image="shop/orders:1.5.0"),
    ]
    broker = {**CHART, "app.kubernetes.io/component": "broker"}

    def refusal(client_side: dict[str, Any]) -> str | None:
        d = drill(
            scenario="network-loss",
            engine="chaosmesh",
            targets={
                "namespace": "mq",
                "labels": broker,
                "pods": ["broker-0"],
                "container": "main",
                "client": client_side,
            },
        )
        (fault,) = resolve(d, load_catalog(), run_id="guard").faults
        found = check_fault([*PODS, *client], fault)
        return None if found is None else found.reason

    assert refusal({"namespace": "shop", "labels": {"app": "orders"}}) is None
    assert "targets.client" in str(refusal({"namespace": "mq", "labels": {"app": "orders"}}))  # not there
    wider = refusal({"namespace": "mq", "labels": CHART})  # the chart's pods are servers, not a client
    assert wider is not None and wider.startswith("targets.client:") and "ns-0 (runs RocketMQ namesrv)" in wider


def test_drill_files_know_whether_they_were_edited() -> None:
    text = render_file({"apiVersion": "mqdrill/v1", "kind": "Drill", "scenario": "broker-unavailable"})
    assert is_pristine(text)
    assert not is_pristine(text.replace("broker-unavailable", "namesrv-unavailable"))
    assert not is_pristine("apiVersion: mqdrill/v1\n")


def test_args_expand_kubernetes_and_shell_variables() -> None:
    container = {
        "env": [{"name": "NAMESRV_ADDR", "value": "mq-namesrv:9876"}],
        "command": ["sh", "-c", "cd /opt/rocketmq/bin && ./mqbroker -n ${NAMESRV_ADDR} -c ../conf/broker.conf"],
        "args": ["--rocketmq.name-server=$(NAMESRV_ADDR)", "-Drocketmq.namesrv.addr=$(UNSET)"],
    }
    found = {(s.name, s.value, s.origin) for s in container_settings(container)}
    assert ("-n", "mq-namesrv:9876", "args") in found
    assert ("rocketmq.name-server", "mq-namesrv:9876", "args") in found
    assert ("rocketmq.namesrv.addr", None, "args (-D) (a variable we cannot see)") in found


def _svc(name: str, ns: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec}


def test_names_resolve_only_where_dns_would_resolve_them() -> None:
    from bridge.discovery.reach import Network, Resolver

    ns_pod = _pod("ns-0", {"c": "ns"}, ns="mq", owner="ns", command=["mqnamesrv"])
    ns_pod["status"] = {"podIP": "10.0.0.7"}
    services = [
        _svc("rocketmq-nameserver", "mq", selector={"c": "ns"}, clusterIP="10.96.0.5"),
        _svc("mq", "shop", type="ExternalName", externalName="rocketmq-nameserver.mq.svc.cluster.local"),
        _svc("manual", "mq"),
    ]
    endpoints = [{"metadata": {"name": "manual", "namespace": "mq"}, "subsets": [{"addresses": [{"ip": "10.0.0.7"}]}]}]
    r = Resolver(Network([ns_pod], services, endpoints), [])
    hit = {("mq", "ns-0")}
    assert r.pods_of("rocketmq-nameserver", "shop")[0] == set()  # a short name resolves in its own namespace only
    assert r.pods_of("rocketmq-nameserver", "mq")[0] == hit
    for host in ("rocketmq-nameserver.mq", "rocketmq-nameserver.mq.svc", "rocketmq-nameserver.mq.svc.cluster.local"):
        assert r.pods_of(host, "shop")[0] == hit, host
    assert r.pods_of("mq", "shop") == (hit, "Service shop/mq (ExternalName) → Service mq/rocketmq-nameserver")
    assert r.pods_of("10.96.0.5", "shop")[1] == "cluster IP of Service mq/rocketmq-nameserver"
    assert r.pods_of("10.0.0.7", "shop") == (hit, "pod IP 10.0.0.7")
    assert r.pods_of("manual.mq", "shop") == (hit, "Service mq/manual (Endpoints)")
    assert r.pods_of("ns-0.rocketmq-nameserver.mq.svc.cluster.local", "x")[0] == hit
    assert r.pods_of("ns-1.rocketmq-nameserver.mq.svc.cluster.local", "x")[0] == set()


def test_controllers_from_owner_references() -> None:
    from bridge.discovery.workloads import controller_of

    def owned(kind: str, name: str, labels: dict[str, str]) -> Any:
        return {
            "metadata": {
                "name": "p",
                "namespace": "ns",
                "labels": labels,
                "ownerReferences": [{"kind": kind, "name": name}],
            }
        }

    assert controller_of(owned("ReplicaSet", "web-5d8f9", {"pod-template-hash": "5d8f9"})) == ("Deployment", "web")
    assert controller_of(owned("ReplicaSet", "web-7c6b", {"rollouts-pod-template-hash": "7c6b"})) == ("Rollout", "web")
    assert controller_of(owned("ReplicaSet", "lonely", {})) == ("ReplicaSet", "lonely")
    assert controller_of(owned("StatefulSet", "broker-0-master", {})) == ("StatefulSet", "broker-0-master")
    rs = {"metadata": {"name": "web-x", "ownerReferences": [{"kind": "Deployment", "name": "web", "controller": True}]}}
    assert controller_of(owned("ReplicaSet", "web-x", {}), {("ns", "web-x"): rs}) == ("Deployment", "web")
    assert controller_of({"metadata": {"name": "bare", "namespace": "ns"}}) == ("Pod", "bare")
