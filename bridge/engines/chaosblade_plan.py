"""ChaosBlade plans: experiments (scope, target, action, flags) rendered either as the operator's
cluster-scoped ``ChaosBlade`` resource or as ``blade`` argv lists (see ``blade_plan``).

Names follow the vendored ChaosBlade spec and v1.8.0 sources (../shared/vendor/chaosblade);
the tests check every catalog entry's experiments against them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bridge.engines.base import Fault, Plan
from bridge.errors import UnsupportedCombination
from bridge.spec.catalog import Catalog
from bridge.spec.resolve import object_name

API_VERSION = "chaosblade.io/v1alpha1"
FlagValue = str | None  # None: a flag without argument (noArgs)


@dataclass(frozen=True)
class Experiment:
    """One ChaosBlade experiment; ``flags`` holds matchers and flags alike (both are ``--name value``)."""

    scope: str  # host | pod | container | node
    target: str
    action: str
    flags: dict[str, FlagValue] = field(default_factory=dict)
    desc: str = ""


def _resource_flags(fault: Fault) -> dict[str, FlagValue]:
    """Which pods: namespace plus names or labels, and how many (from the drill's mode)."""
    t = fault.target
    assert t.namespace is not None
    flags: dict[str, FlagValue] = {"namespace": t.namespace}
    if t.pods:
        flags["names"] = ",".join(t.pods)
    else:
        flags["labels"] = ",".join(f"{k}={v}" for k, v in t.labels.items())
    if t.mode == "one":
        flags["evict-count"] = "1"
    elif t.mode == "fixed" and t.mode_value:
        flags["evict-count"] = t.mode_value
    elif t.mode in ("fixed-percent", "random-max-percent") and t.mode_value:
        flags["evict-percent"] = t.mode_value
    return flags


def _drop_experiments(port: int, direction: str) -> list[tuple[str, dict[str, FlagValue]]]:
    """network drop: traffic to the component's port (in), from it (out), or both."""
    out: list[tuple[str, dict[str, FlagValue]]] = []
    if direction in ("to", "both"):
        out.append(("drop", {"destination-port": str(port), "network-traffic": "in"}))
    if direction in ("from", "both"):
        out.append(("drop", {"source-port": str(port), "network-traffic": "out"}))
    return out


def _client_drop_experiments(port: int, direction: str) -> list[tuple[str, dict[str, FlagValue]]]:
    """network drop on a client pod: its traffic to the middleware port (out), the answers (in), or both."""
    out: list[tuple[str, dict[str, FlagValue]]] = []
    if direction in ("to", "both"):
        out.append(("drop", {"destination-port": str(port), "network-traffic": "out"}))
    if direction in ("from", "both"):
        out.append(("drop", {"source-port": str(port), "network-traffic": "in"}))
    return out


def _middleware_ports(catalog: Catalog) -> str:
    return ",".join(str(catalog.components[c].port) for c in ("proxy", "broker"))


def experiments(fault: Fault, catalog: Catalog, *, host: bool) -> list[Experiment]:
    """The experiments for one fault, on Kubernetes pods or (``host``) on this host's processes."""
    comp = catalog.components[fault.component]
    p, cause = fault.params, fault.cause
    pod = "host" if host else "pod"
    common: dict[str, FlagValue] = {} if host else _resource_flags(fault)
    timeout = {"timeout": str(fault.duration_s)}
    desc = f"mqdrill {fault.scenario} by {cause} on {fault.component} (run {fault.run_id})"

    def exp(scope: str, target: str, action: str, flags: dict[str, FlagValue]) -> Experiment:
        return Experiment(scope, target, action, {**flags, **common, **timeout}, desc)

    if cause in ("pod-kill", "container-kill") and host:
        raise UnsupportedCombination(
            f"{cause} needs Kubernetes; on a host use process-kill (blade create process kill)"
        )
    container = {"container-names": fault.target.container} if fault.target.container and not host else {}
    if cause == "pod-kill":
        return [exp("pod", "pod", "delete", {})]
    if cause == "container-kill":
        return [exp("container", "container", "remove", dict(container))]
    if cause in ("pod-failure", "process-pause"):
        return [exp(pod, "process", "stop", {"process": comp.process})]
    if cause == "process-kill":
        return [exp(pod, "process", "kill", {"process": comp.process, "signal": "9"})]
    on_client = fault.component in ("frontend", "cartservice")
    if cause in ("network-delay", "network-loss"):
        # On a middleware pod, its own port; on a client pod, the ports it reaches RocketMQ on.
        ports = {"remote-port": _middleware_ports(catalog)} if on_client else {"local-port": str(comp.port)}
        flags: dict[str, FlagValue] = {"interface": str(p["interface"]), **ports}
        if cause == "network-delay":
            flags.update({"time": str(p["latency_ms"]), "offset": str(p["jitter_ms"])})
            return [exp(pod, "network", "delay", flags)]
        flags["percent"] = str(p["loss_percent"])
        return [exp(pod, "network", "loss", flags)]
    if cause == "network-drop":
        if on_client:  # the client cut off from the proxy, its only way to the brokers in RocketMQ 5
            port = catalog.components["proxy"].port
            return [exp(pod, "network", a, f) for a, f in _client_drop_experiments(port, str(p["direction"]))]
        return [exp(pod, "network", a, f) for a, f in _drop_experiments(comp.port, str(p["direction"]))]
    if cause == "cpu-full":
        return [exp(pod, "cpu", "fullload", {"cpu-percent": str(p["cpu_load"])})]
    if cause == "disk-fill":
        if comp.store_path is None:
            raise UnsupportedCombination(f"component {fault.component!r} has no store path to fill")
        return [exp(pod, "disk", "fill", {"path": comp.store_path, "percent": str(p["fill_percent"])})]
    if cause in ("client-delay", "client-exception"):
        d = catalog.defaults
        group = (
            {"consumerGroup": d.consumer_group}
            if fault.component == "cartservice"
            else {"producerGroup": d.producer_group}
        )
        scope = "host" if host else "container"
        base = {"topic": d.topic, **group, **container}
        if cause == "client-delay":
            return [
                exp(scope, "rocketmq", "delay", {**base, "time": str(p["latency_ms"]), "offset": str(p["jitter_ms"])})
            ]
        return [exp(scope, "rocketmq", "throwCustomException", {**base, "exception": str(p["exception"])})]
    raise UnsupportedCombination(f"ChaosBlade has no plan for cause {cause!r}")


def resource(fault: Fault, catalog: Catalog, index: int = 0) -> dict[str, Any]:
    """The cluster-scoped ChaosBlade resource for one fault."""
    exps = experiments(fault, catalog, host=False)
    return {
        "apiVersion": API_VERSION,
        "kind": "ChaosBlade",
        "metadata": {
            "name": object_name(fault.run_id, fault.cause, index),
            "labels": fault.labels,
            "annotations": {"mqdrill.io/scenario": fault.scenario, "mqdrill.io/cause": fault.cause},
        },
        "spec": {
            "experiments": [
                {
                    "scope": e.scope,
                    "target": e.target,
                    "action": e.action,
                    "desc": e.desc,
                    "matchers": [{"name": k, "value": [v if v is not None else "true"]} for k, v in e.flags.items()],
                }
                for e in exps
            ]
        },
    }


def plan(fault: Fault, catalog: Catalog, index: int = 0) -> Plan:
    if fault.target.namespace is None:
        raise UnsupportedCombination("the chaosblade engine needs a Kubernetes target (targets.namespace)")
    return Plan(engine="chaosblade", fault=fault, objects=(resource(fault, catalog, index),))
