"""Every catalog entry, for every engine it claims, plans objects that validate against the
vendored CRDs and argv that match the vendored ChaosBlade spec. The whole catalog, not a sample."""

from __future__ import annotations

import itertools

import pytest

from bridge.engines.base import MANAGED_BY_LABEL, RUN_ID_LABEL, Plan
from bridge.engines.planning import plan_drill
from bridge.errors import UnsupportedCombination
from bridge.spec.catalog import load_catalog
from bridge.spec.resolve import resolve
from tests.support.blade_spec import check_argv
from tests.support.crd_schema import schema_errors
from tests.support.drills import drill

CATALOG = load_catalog()
RUN_ID = "20261128-210000-broker-unavailable-ab12"
ENTRIES = [(e["scenario"], e["cause"], eng) for e in CATALOG.entries() for eng in e["engines"]]  # type: ignore[attr-defined]
CHANNELS_CLIENTS = [("all", "both"), ("frontend", "to"), ("cartservice", "from")]


def _plans(scenario: str, cause: str, engine: str, **extra: object) -> list[Plan]:
    d = drill(scenario=scenario, causes=[cause], engine=engine, **extra)
    return plan_drill(resolve(d, CATALOG, run_id=RUN_ID), CATALOG)


def test_catalog_covers_the_required_scenarios() -> None:
    names = {s.name for s in CATALOG.scenarios}
    assert {
        "broker-unavailable",
        "namesrv-unavailable",
        "proxy-unavailable",
        "send-latency",
        "network-partition",
        "network-loss",
        "consumer-backlog",
        "broker-disk-full",
        "broker-cpu-full",
        "send-failure",
    } <= names
    assert all(s.protections for s in CATALOG.scenarios)


@pytest.mark.parametrize(("scenario", "cause", "engine"), [e for e in ENTRIES if e[2] in ("chaosmesh", "chaosblade")])
@pytest.mark.parametrize(("client", "direction"), CHANNELS_CLIENTS)
def test_kubernetes_objects_validate_against_vendored_crds(
    scenario: str, cause: str, engine: str, client: str, direction: str
) -> None:
    plans = _plans(scenario, cause, engine, params={"client": client, "direction": direction})
    objects = [o for p in plans for o in p.objects]
    assert objects, "a Kubernetes engine must plan at least one object"
    for obj in objects:
        assert schema_errors(dict(obj)) == []
        labels = obj["metadata"]["labels"]
        assert labels[MANAGED_BY_LABEL] == "mqdrill" and labels[RUN_ID_LABEL] == RUN_ID
        if obj["kind"] == "ChaosBlade":
            assert "namespace" not in obj["metadata"], "ChaosBlade is cluster-scoped"
            for exp in obj["spec"]["experiments"]:
                timeout = {m["name"]: m["value"] for m in exp["matchers"]}["timeout"]
                assert int(timeout[0]) > 0
        else:
            assert obj["spec"]["duration"].endswith("s")


@pytest.mark.parametrize(("scenario", "cause"), [(s, c) for s, c, e in ENTRIES if e == "blade"])
@pytest.mark.parametrize("host", [False, True])
def test_blade_argv_match_the_vendored_spec(scenario: str, cause: str, host: bool) -> None:
    extra = {"targets": {"services": ["broker"]}} if host else {}
    try:
        plans = _plans(scenario, cause, "blade", **extra)
    except UnsupportedCombination as exc:
        assert host and cause in ("pod-kill", "container-kill"), exc
        return
    argvs = [a for p in plans for a in p.argv]
    assert argvs
    for argv in argvs:
        assert isinstance(argv, tuple) and all(isinstance(w, str) for w in argv)
        assert check_argv(argv) == []
        assert int(argv[argv.index("--timeout") + 1]) > 0
        assert ("k8s" in argv) is not host


@pytest.mark.parametrize(("scenario", "cause"), [(s, c) for s, c, e in ENTRIES if e == "local"])
def test_local_actions_name_services_and_carry_a_deadline(scenario: str, cause: str) -> None:
    plans = _plans(scenario, cause, "local")
    actions = [a for p in plans for a in p.local]
    assert actions
    for a in actions:
        assert a.service in {"namesrv", "broker", "proxy", "frontend", "cartservice", "redis"}
        assert a.deadline_s > 60  # the default 60 s fault window plus slack


def test_every_claimed_combination_is_planned_and_unclaimed_ones_refused() -> None:
    for scenario, engine in itertools.product([s.name for s in CATALOG.scenarios], ["chaosmesh", "local"]):
        for cause in CATALOG.scenario(scenario).causes:
            if engine in CATALOG.causes[cause].engines:
                assert _plans(scenario, cause, engine)
            else:
                with pytest.raises(UnsupportedCombination, match="engines that can"):
                    _plans(scenario, cause, engine)


def test_the_schema_check_is_not_vacuous() -> None:
    """The famous typo and a made-up metadata field must both be caught."""
    obj = dict(_plans("network-loss", "network-loss", "chaosmesh")[0].objects[0])
    obj = {**obj, "spec": {**obj["spec"], "action": "bandwdith"}}
    assert any("bandwdith" in e for e in schema_errors(obj))
    obj2 = dict(_plans("network-loss", "network-loss", "chaosmesh")[0].objects[0])
    obj2 = {**obj2, "metadata": {**obj2["metadata"], "ns": "x"}}
    assert any("ns" in e for e in schema_errors(obj2))
    assert check_argv(["blade", "create", "k8s", "pod-network", "delay", "--time", "5", "--namespac", "x"])


def test_network_delay_values_reach_every_engine() -> None:
    params = {"latency_ms": 750, "jitter_ms": 25, "client": "frontend", "direction": "to"}
    cm = _plans("send-latency", "network-delay", "chaosmesh", params=params)[0].objects[0]["spec"]
    assert cm["delay"]["latency"] == "750ms" and cm["delay"]["jitter"] == "25ms"
    assert cm["direction"] == "to" and cm["target"]["selector"]["labelSelectors"] == {"app": "frontend"}
    argv = _plans("send-latency", "network-delay", "blade", params=params)[0].argv[0]
    assert argv[argv.index("--time") + 1] == "750" and argv[argv.index("--offset") + 1] == "25"
    local = _plans("send-latency", "network-delay", "local", params=params)[0].local
    assert [a.params["stream"] for a in local] == ["upstream"]
    assert local[0].params["latency"] == 750 and local[0].params["client"] == "frontend"


def test_client_side_causes_are_placed_on_the_client() -> None:
    p = _plans("send-failure", "client-exception", "chaosmesh")[0]
    assert p.fault.component == "frontend"
    assert p.objects[0]["spec"]["selector"]["labelSelectors"] == {"app": "frontend"}
    p2 = _plans("consumer-backlog", "client-delay", "chaosblade")[0]
    matchers = {m["name"]: m["value"] for m in p2.objects[0]["spec"]["experiments"][0]["matchers"]}
    assert matchers["consumerGroup"] == ["CID_CART"] and "producerGroup" not in matchers


def test_network_faults_on_a_client_aim_at_the_middleware_not_at_the_clients_other_traffic() -> None:
    cm = _plans("consumer-backlog", "network-drop", "chaosmesh")[0].objects[0]["spec"]
    assert cm["selector"]["labelSelectors"] == {"app": "cartservice"}
    assert cm["target"]["selector"]["expressionSelectors"] == [
        {"key": "app.kubernetes.io/name", "operator": "In", "values": ["rocketmq-proxy", "rocketmq-broker"]}
    ]
    argv = _plans("consumer-backlog", "network-drop", "blade")[0].argv
    assert [a[a.index("--destination-port") + 1] for a in argv if "--destination-port" in a] == ["8081"]
    assert all("8090" not in a for a in argv), "never the cart's own HTTP port"
    delay = _plans("consumer-backlog", "network-delay", "blade")[0].argv[0]
    assert delay[delay.index("--remote-port") + 1] == "8081,10911"
    local = _plans("consumer-backlog", "network-drop", "local")[0].local
    assert [(a.kind, a.service, a.params["client"]) for a in local] == [("proxy-down", "proxy", "cartservice")]


def test_a_client_in_another_namespace_is_the_network_chaos_target_in_its_own_namespace() -> None:
    client = {"namespace": "shop", "labels": {"app.kubernetes.io/name": "orders"}}
    targets = {"namespace": "mq", "labels": {"app.kubernetes.io/component": "broker"}, "client": client}
    for scenario, cause in (("network-partition", "network-drop"), ("network-loss", "network-loss")):
        obj = dict(_plans(scenario, cause, "chaosmesh", targets=targets)[0].objects[0])
        assert schema_errors(obj) == []
        spec = obj["spec"]
        assert obj["metadata"]["namespace"] == "mq"
        assert spec["selector"] == {"namespaces": ["mq"], "labelSelectors": {"app.kubernetes.io/component": "broker"}}
        assert spec["target"] == {
            "mode": "all",
            "selector": {"namespaces": ["shop"], "labelSelectors": {"app.kubernetes.io/name": "orders"}},
        }
    named = {**targets, "client": {"namespace": "shop", "pods": ["orders-0"]}}
    spec = _plans("network-loss", "network-loss", "chaosmesh", targets=named)[0].objects[0]["spec"]
    assert spec["target"] == {"mode": "all", "selector": {"pods": {"shop": ["orders-0"]}}}
    assert schema_errors(dict(_plans("network-loss", "network-loss", "chaosmesh", targets=named)[0].objects[0])) == []
    # without targets.client, the catalog's demo clients in the component's namespace, as before
    plain = _plans("network-loss", "network-loss", "chaosmesh", targets={"namespace": "mq"})[0].objects[0]["spec"]
    assert plain["target"]["selector"]["namespaces"] == ["mq"]
    # a cause that is no network fault has no client side
    assert "target" not in _plans("broker-unavailable", "pod-kill", "chaosmesh", targets=targets)[0].objects[0]["spec"]


def test_a_client_side_needs_labels_or_pods_and_no_protected_namespace() -> None:
    from pydantic import ValidationError

    from bridge.errors import SafetyError

    with pytest.raises(ValidationError, match="labels or pods"):
        drill(scenario="network-loss", targets={"namespace": "mq", "client": {"namespace": "shop"}})
    protected = drill(
        scenario="network-loss",
        engine="chaosmesh",
        targets={"namespace": "mq", "client": {"namespace": "kube-system", "labels": {"app": "x"}}},
    )
    with pytest.raises(SafetyError, match="targets.client.namespace"):
        resolve(protected, CATALOG, run_id=RUN_ID)
