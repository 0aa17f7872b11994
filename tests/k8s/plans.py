"""Hand-built plans with realistic objects, as the planners (bridge/engines/*_plan.py) make them."""

from __future__ import annotations

from typing import Any

from bridge.engines.base import Fault, Plan, Target

BROKER = {"app.kubernetes.io/name": "rocketmq-broker"}


def labels(run_id: str) -> dict[str, str]:
    return {"app.kubernetes.io/managed-by": "mqdrill", "mqdrill.io/run-id": run_id}


def fault(run_id: str, namespace: str, *, engine: str = "chaosmesh", cause: str = "pod-kill") -> Fault:
    return Fault(
        run_id=run_id,
        scenario="broker-unavailable",
        cause=cause,
        component="broker",
        engine=engine,
        target=Target(namespace=namespace, labels=BROKER),
        duration_s=60,
    )  # type: ignore[arg-type]


def pod_kill(run_id: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "chaos-mesh.org/v1alpha1",
        "kind": "PodChaos",
        "metadata": {
            "name": f"mqdrill-{run_id}-broker-pod-kill",
            "namespace": namespace,
            "labels": labels(run_id),
        },
        "spec": {
            "action": "pod-kill",
            "mode": "one",
            "gracePeriod": 0,
            "duration": "60s",
            "selector": {"namespaces": [namespace], "labelSelectors": dict(BROKER)},
        },
    }


def network_delay(run_id: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "chaos-mesh.org/v1alpha1",
        "kind": "NetworkChaos",
        "metadata": {
            "name": f"mqdrill-{run_id}-broker-delay",
            "namespace": namespace,
            "labels": labels(run_id),
        },
        "spec": {
            "action": "delay",
            "mode": "all",
            "direction": "to",
            "duration": "60s",
            "delay": {"latency": "200ms", "jitter": "10ms", "correlation": "0"},
            "selector": {"namespaces": [namespace], "labelSelectors": dict(BROKER)},
        },
    }


def chaosblade(run_id: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "chaosblade.io/v1alpha1",
        "kind": "ChaosBlade",
        "metadata": {"name": f"mqdrill-{run_id}-broker-process-kill", "labels": labels(run_id)},
        "spec": {
            "experiments": [
                {
                    "scope": "container",
                    "target": "process",
                    "action": "kill",
                    "desc": "mqdrill broker-unavailable by process-kill",
                    "matchers": [
                        {"name": "namespace", "value": [namespace]},
                        {"name": "labels", "value": ["app.kubernetes.io/name=rocketmq-broker"]},
                        {"name": "container-names", "value": ["broker"]},
                        {"name": "process", "value": ["BrokerStartup"]},
                        {"name": "evict-count", "value": ["1"]},
                        {"name": "timeout", "value": ["60"]},
                    ],
                }
            ]
        },
    }


def chaosmesh_plan(run_id: str, namespace: str, *objects: dict[str, Any]) -> Plan:
    return Plan(engine="chaosmesh", fault=fault(run_id, namespace), objects=objects or (pod_kill(run_id, namespace),))


def chaosblade_plan(run_id: str, namespace: str) -> Plan:
    return Plan(
        engine="chaosblade",
        fault=fault(run_id, namespace, engine="chaosblade", cause="process-kill"),
        objects=(chaosblade(run_id, namespace),),
    )
