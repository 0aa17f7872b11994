"""Chaos Mesh plans: one custom resource per fault, with the safety labels and a ``duration``.

Field names follow the vendored CRDs (chaos-mesh v2.8.3); the tests validate every catalog
entry's objects against those schemas with unknown fields rejected.
"""

from __future__ import annotations

from typing import Any

from bridge.engines.base import Fault, Plan, Target
from bridge.errors import UnsupportedCombination
from bridge.spec.catalog import Catalog
from bridge.spec.resolve import CLIENT_APPS, object_name
from bridge.spec.units import format_duration

API_VERSION = "chaos-mesh.org/v1alpha1"


def selector(target: Target) -> dict[str, Any]:
    """A PodSelectorSpec: pod names when given, else namespace + labels."""
    assert target.namespace is not None
    if target.pods:
        return {"pods": {target.namespace: list(target.pods)}}
    return {"namespaces": [target.namespace], "labelSelectors": dict(target.labels)}


def _mode(target: Target) -> dict[str, Any]:
    mode: dict[str, Any] = {"mode": target.mode}
    if target.mode_value is not None:
        mode["value"] = target.mode_value
    return mode


# A client's path to RocketMQ 5: the proxy (gRPC) and the brokers behind it.
MIDDLEWARE_PEERS = ("proxy", "broker")


def _client_target(fault: Fault, catalog: Catalog) -> dict[str, Any] | None:
    """The peer side of a network fault (NetworkChaos ``target``, a PodSelector of its own): the
    client pods the drill names (``targets.client``, in their own namespace, which may differ from
    the component's), else the catalog's client app(s) in the component's namespace; or, for a
    fault placed on a client, the middleware it talks to (so its other traffic is untouched)."""
    if fault.peer is not None:
        return {"mode": "all", "selector": selector(fault.peer)}
    client = str(fault.params.get("client", "all"))
    if fault.component in CLIENT_APPS:
        peers: tuple[str, ...] = MIDDLEWARE_PEERS
    else:
        peers = CLIENT_APPS if client == "all" else (client,)
    label_sets = [
        catalog.components[a].kubernetes.labels if a in catalog.components else {"app": a}  # as _app_target
        for a in peers
    ]
    keys = {k for labels in label_sets for k in labels}
    sel: dict[str, Any] = {"namespaces": [fault.target.namespace]}
    if len(label_sets) == 1:
        sel["labelSelectors"] = dict(label_sets[0])
    elif len(keys) == 1:
        key = keys.pop()
        sel["expressionSelectors"] = [{"key": key, "operator": "In", "values": [ls[key] for ls in label_sets]}]
    else:
        return None
    return {"mode": "all", "selector": sel}


def _spec(fault: Fault, catalog: Catalog) -> tuple[str, dict[str, Any]]:
    """(kind, spec) for the fault's cause."""
    t, p = fault.target, fault.params
    base: dict[str, Any] = {**_mode(t), "selector": selector(t), "duration": format_duration(fault.duration_s)}
    containers = {"containerNames": [t.container]} if t.container else {}
    cause = fault.cause
    if cause == "pod-kill":
        return "PodChaos", {"action": "pod-kill", "gracePeriod": 0, **base}
    if cause == "container-kill":
        return "PodChaos", {"action": "container-kill", **containers, **base}
    if cause == "pod-failure":
        return "PodChaos", {"action": "pod-failure", **base}
    if cause in ("network-delay", "network-loss", "network-drop"):
        spec: dict[str, Any] = dict(base)
        if cause == "network-delay":
            spec["action"] = "delay"
            spec["delay"] = {"latency": f"{p['latency_ms']}ms", "jitter": f"{p['jitter_ms']}ms", "correlation": "0"}
        elif cause == "network-loss":
            spec["action"] = "loss"
            spec["loss"] = {"loss": str(p["loss_percent"]), "correlation": "0"}
        else:
            spec["action"] = "partition"
        peer = _client_target(fault, catalog)
        if peer is not None:
            spec["target"] = peer
            spec["direction"] = str(p.get("direction", "both"))
        else:
            spec["direction"] = "to"
        return "NetworkChaos", spec
    if cause == "cpu-full":
        stress = {"cpu": {"workers": int(p["cpu_workers"]), "load": int(p["cpu_load"])}}
        return "StressChaos", {**containers, **base, "stressors": stress}
    if cause == "disk-fill":
        store = catalog.components[fault.component].store_path
        if store is None:
            raise UnsupportedCombination(f"component {fault.component!r} has no store path to fill")
        # ENOSPC (errno 28) on every write under the store: what a full disk looks like to the broker.
        return "IOChaos", {
            "action": "fault",
            "errno": 28,
            "percent": 100,
            "volumePath": store,
            "path": f"{store}/**/*",
            "methods": ["WRITE", "FSYNC", "FALLOCATE"],
            **containers,
            **base,
        }
    if cause in ("client-delay", "client-exception"):
        d = catalog.defaults
        spec = {"class": d.send_class, "method": d.send_method, "port": 9277, **containers, **base}
        if cause == "client-delay":
            return "JVMChaos", {"action": "latency", "latency": int(p["latency_ms"]), **spec}
        return "JVMChaos", {
            "action": "exception",
            "exception": f'{p["exception"]}("mqdrill send-failure drill")',
            **spec,
        }
    raise UnsupportedCombination(f"Chaos Mesh has no plan for cause {cause!r}")


def plan(fault: Fault, catalog: Catalog, index: int = 0) -> Plan:
    """The Chaos Mesh object for one fault."""
    if fault.target.namespace is None:
        raise UnsupportedCombination("Chaos Mesh needs a Kubernetes target (targets.namespace)")
    kind, spec = _spec(fault, catalog)
    obj = {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {
            "name": object_name(fault.run_id, fault.cause, index),
            "namespace": fault.target.namespace,
            "labels": fault.labels,
            "annotations": {"mqdrill.io/scenario": fault.scenario, "mqdrill.io/cause": fault.cause},
        },
        "spec": spec,
    }
    return Plan(engine="chaosmesh", fault=fault, objects=(obj,))
