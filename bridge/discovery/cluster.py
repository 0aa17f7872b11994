"""Discovery and the selector guard against a live cluster, through the Kubernetes boundary.

``list pods`` is the one permission discovery needs. Services, Endpoints and ReplicaSets
(``list``) and the ConfigMaps and Secrets a pod refers to (``get``, only those named) make it
better; each one refused is noted in the topology with what it costs, never fatal.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from bridge.discovery.guard import check_fault, peer_selector
from bridge.discovery.model import Topology
from bridge.discovery.scan import scan
from bridge.errors import KubernetesError
from bridge.k8s import Kube
from bridge.spec.catalog import load_catalog
from bridge.spec.models import Drill
from bridge.spec.resolve import resolve

OPTIONAL = {
    "services": "addresses are matched to workloads by name only",
    "endpoints": "Services without a selector lead nowhere",
    "replicasets": "Deployments are named from their ReplicaSets' names",
}


class ClusterSources:
    """ConfigMaps and Secrets read on demand (each once); a refusal is remembered as a note."""

    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self.notes: list[str] = []
        self._cache: dict[tuple[str, str, str], Mapping[str, str] | None] = {}

    def _read(self, plural: str, namespace: str, name: str) -> Mapping[str, str] | None:
        key = (plural, namespace, name)
        if key not in self._cache:
            try:
                obj = self.kube.read_builtin(plural, name, namespace=namespace)
            except KubernetesError as exc:
                self.notes.append(f"{plural} {namespace}/{name} not read ({str(exc).split(';')[0]}): values unknown")
                obj = None
            self._cache[key] = None if obj is None else _data(plural, obj)
        return self._cache[key]

    def configmap(self, namespace: str, name: str) -> Mapping[str, str] | None:
        return self._read("configmaps", namespace, name)

    def secret(self, namespace: str, name: str) -> Mapping[str, str] | None:
        return self._read("secrets", namespace, name)


def _data(plural: str, obj: Mapping[str, Any]) -> dict[str, str]:
    out = {str(k): str(v) for k, v in (obj.get("stringData") or {}).items()}
    for k, v in (obj.get("data") or {}).items():
        if plural == "secrets":
            try:
                out[str(k)] = base64.b64decode(str(v)).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                continue
        else:
            out[str(k)] = str(v)
    return out


def _list(kube: Kube, plural: str, namespaces: Sequence[str] | None, notes: list[str]) -> list[Any] | None:
    try:
        if namespaces is None:
            return kube.list_builtin(plural, all_namespaces=True)
        return [o for ns in namespaces for o in kube.list_builtin(plural, namespace=ns)]
    except KubernetesError as exc:
        if exc.status not in (403, 404):
            raise
        notes.append(f"{plural} not listed ({str(exc).split(';')[0]}): {OPTIONAL[plural]}")
        return None


def discover_cluster(kube: Kube, *, namespace: str | None = None, namespaces: Sequence[str] | None = None) -> Topology:
    """Discover over the pods of the given namespaces, or of every namespace when none is given."""
    scope = list(namespaces or ([namespace] if namespace else [])) or None
    if scope is None:
        pods = kube.list_pods(all_namespaces=True)
    else:
        pods = [p for ns in scope for p in kube.list_pods(namespace=ns)]
    notes: list[str] = []
    services = _list(kube, "services", scope, notes)
    endpoints = _list(kube, "endpoints", scope, notes)
    replicasets = _list(kube, "replicasets", scope, notes)
    sources = ClusterSources(kube)
    topo = scan(pods, services=services, endpoints=endpoints, replicasets=replicasets, sources=sources)
    return Topology(
        topo.servers, topo.clients, topo.admin, topo.pairs, topo.unpaired, (*notes, *sources.notes), topo.pods
    )


def cluster_refusals(drill: Drill, kube: Kube, *, source: str = "drill") -> list[str]:
    """The selector guard for every fault of a drill, against the pods the cluster lists now."""
    out = []
    for fault in resolve(drill, load_catalog(), run_id="preflight", source=source).faults:
        t = fault.target
        if t.namespace is None or not (t.labels or t.pods):
            continue
        pods = kube.list_pods(namespace=t.namespace, labels=dict(t.labels) or None)
        if (peer := peer_selector(fault)) is not None:
            pods += kube.list_pods(namespace=peer[0], labels=peer[1] or None)
        refusal = check_fault(pods, fault)
        if refusal is not None:
            out.append(f"{source} at `targets` ({fault.cause}): {refusal}")
    return out
