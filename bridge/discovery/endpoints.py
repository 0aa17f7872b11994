"""What a client exposes that a steady state can use: the Service in front of it, its metrics.

Discovery can see the address of an application (a Service selecting its pods, its HTTP port)
and whether it serves Prometheus metrics (a container port named ``*metrics*``, or the common
``prometheus.io/port``/``path`` annotations); it cannot see which request exercises its use of
RocketMQ — the drill file marks that as the user's part.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.discovery.workloads import Pod, labels_of, matches, namespace_of


def _port(svc: Mapping[str, Any]) -> int | None:
    ports = list((svc.get("spec") or {}).get("ports") or [])
    named = [p for p in ports if "http" in str(p.get("name", "")) and "metrics" not in str(p.get("name", ""))]
    chosen = (named or [p for p in ports if "metrics" not in str(p.get("name", ""))] or [None])[0]
    return int(chosen["port"]) if chosen and chosen.get("port") else None


def service_url(pods: Sequence[Pod], services: Sequence[Mapping[str, Any]] | None) -> str | None:
    """``http://<svc>.<ns>.svc.cluster.local:<port>`` of the first Service (by name) selecting these pods."""
    if not pods or not services:
        return None
    ns = namespace_of(pods[0])
    for svc in sorted(services, key=lambda s: str(s["metadata"]["name"])):
        selector = {str(k): str(v) for k, v in ((svc.get("spec") or {}).get("selector") or {}).items()}
        if str(svc["metadata"].get("namespace")) != ns or not selector:
            continue
        if any(matches(labels_of(p), selector) for p in pods) and (port := _port(svc)) is not None:
            return f"http://{svc['metadata']['name']}.{ns}.svc.cluster.local:{port}"
    return None


def metrics_url(pods: Sequence[Pod], base: str | None) -> str | None:
    """A metrics endpoint the pods declare, on the Service's host when there is one, else the pod's port."""
    if not pods:
        return None
    pod = pods[0]
    notes = (pod.get("metadata") or {}).get("annotations") or {}
    path = str(notes.get("prometheus.io/path") or "/metrics")
    port = notes.get("prometheus.io/port")
    if port is None:
        for c in (pod.get("spec") or {}).get("containers") or []:
            for p in c.get("ports") or []:
                if "metrics" in str(p.get("name", "")):
                    port = p.get("containerPort")
    if port is None:
        return None
    host = base.split("//", 1)[1].rsplit(":", 1)[0] if base else "<pod-ip>"
    return f"http://{host}:{port}{path}"
