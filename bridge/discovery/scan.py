"""From listed objects to a topology: servers, clients and admin tools by controller, and pairs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.discovery.endpoints import metrics_url, service_url
from bridge.discovery.model import SERVER_KINDS, Setting, Topology, Workload
from bridge.discovery.reach import Network, Resolver, pairs_for
from bridge.discovery.servers import is_admin, pod_servers
from bridge.discovery.settings import NoSources, Sources, container_settings, names_rocketmq
from bridge.discovery.workloads import (
    Pod,
    build_selector,
    controller_of,
    labels_of,
    name_of,
    namespace_of,
    pod_ips,
)


@dataclass
class _Group:
    kind: str
    namespace: str
    controller: tuple[str, str]
    container: str | None
    pods: list[Pod] = field(default_factory=list)
    images: set[str] = field(default_factory=set)
    ports: set[int] = field(default_factory=set)
    found: list[Setting] = field(default_factory=list)


def _classify(pod: Pod, sources: Sources) -> Iterable[tuple[str, Mapping[str, Any], tuple[Setting, ...]]]:
    """(kind, container, settings) for each container of the pod that is a server, admin tool or client."""
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or [])
    labels = labels_of(pod)
    servers = pod_servers(labels, containers)
    for c in containers:
        settings = container_settings(c, namespace=namespace_of(pod), pod_spec=spec, sources=sources)
        name = str(c.get("name"))
        if name in servers:
            for kind in servers[name]:
                yield kind, c, settings
        elif is_admin(labels, c):
            yield "admin", c, settings
        elif names_rocketmq(settings):
            yield "client", c, settings


def _workload(g: _Group, namespace_pods: Sequence[Pod], services: Sequence[Mapping[str, Any]] | None) -> Workload:
    selector, foreign = build_selector(g.pods, namespace_pods)
    kind, name = g.controller
    note, target_pods = "", tuple[str, ...]()
    if selector is None:
        note = f"no label selects exactly these pods (also matches {', '.join(foreign[:5]) or 'everything'})"
        if kind in ("StatefulSet", "Pod"):  # stable pod names: the drill names the pods instead
            target_pods = tuple(sorted(name_of(p) for p in g.pods))
            note += "; the drill names its pods (stable under a StatefulSet)"
    seen: set[tuple[str, str, str | None, str]] = set()
    found = []
    for s in g.found:
        if (s.key, s.name, s.value, s.origin) not in seen:
            seen.add((s.key, s.name, s.value, s.origin))
            found.append(s)
    url = service_url(g.pods, services) if g.kind == "client" else None
    return Workload(
        kind=g.kind,
        name=name,
        namespace=g.namespace,
        controller=f"{kind}/{name}",
        labels=selector or {},
        pods=tuple(sorted(name_of(p) for p in g.pods)),
        images=tuple(sorted(g.images)),
        container=g.container,
        found=tuple(found),
        ports=tuple(sorted(g.ports)),
        pod_ips=tuple(ip for p in g.pods for ip in pod_ips(p)),
        selector_note=note,
        target_pods=target_pods,
        service_url=url,
        metrics_url=metrics_url(g.pods, url) if g.kind == "client" else None,
    )


def scan(
    pods: Iterable[Pod],
    *,
    services: Sequence[Mapping[str, Any]] | None = None,
    endpoints: Sequence[Mapping[str, Any]] | None = None,
    replicasets: Sequence[Mapping[str, Any]] | None = None,
    sources: Sources | None = None,
    notes: Sequence[str] = (),
) -> Topology:
    """The topology of ``pods``; Services resolve addresses (None: not readable, names are matched)."""
    src = sources or NoSources()
    pod_list = [  # terminating and finished pods are no longer part of any workload
        p
        for p in pods
        if not (p.get("metadata") or {}).get("deletionTimestamp")
        and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
    ]
    rs_index = {(namespace_of(r), name_of(r)): r for r in replicasets or []}
    groups: dict[tuple[str, str, tuple[str, str]], _Group] = {}
    for pod in pod_list:
        controller = controller_of(pod, rs_index)
        for kind, c, settings in _classify(pod, src):
            key = (kind, namespace_of(pod), controller)
            g = groups.setdefault(key, _Group(kind, namespace_of(pod), controller, str(c.get("name"))))
            if pod not in g.pods:
                g.pods.append(pod)
            g.images.add(str(c.get("image", "")))
            g.ports.update(int(p.get("containerPort", 0)) for p in c.get("ports") or [])
            g.found.extend(settings)
    by_ns: dict[str, list[Pod]] = {}
    for pod in pod_list:
        by_ns.setdefault(namespace_of(pod), []).append(pod)
    workloads = [_workload(g, by_ns[g.namespace], services) for g in groups.values()]
    order = {k: i for i, k in enumerate(SERVER_KINDS)}
    servers = sorted((w for w in workloads if w.kind in order), key=lambda w: (order[w.kind], w.namespace, w.name))
    clients = sorted((w for w in workloads if w.kind == "client"), key=lambda w: (w.namespace, w.name))
    admin = sorted((w for w in workloads if w.kind == "admin"), key=lambda w: (w.namespace, w.name))
    resolver = Resolver(Network(pod_list, services, endpoints), servers)
    pairs = []
    unpaired: dict[str, str] = {}
    for client in clients:
        reached = pairs_for(resolver, client)
        pairs.extend(reached)
        if not reached:
            unpaired[client.ref] = _why_unpaired(client)
    return Topology(tuple(servers), tuple(clients), tuple(admin), tuple(pairs), unpaired, tuple(notes), tuple(pod_list))


def _why_unpaired(client: Workload) -> str:
    addresses = [s for s in client.found if s.key in ("namesrv", "endpoints")]
    if not addresses:
        return "no name-server address or proxy endpoint in its settings"
    if all(s.value is None for s in addresses):
        return "; ".join(f"{s.name} {s.shown()}" for s in addresses) + ": cannot tell which server it uses"
    said = "; ".join(f"{s.name}={s.shown()}" for s in addresses)
    return f"{said} resolves to no RocketMQ server in the scanned namespaces"
