"""Find RocketMQ servers and their clients in a cluster, and write drills for them.

Like Alibaba Cloud's message drill, mqdrill identifies the message servers and the applications
that use them by itself. It reads pods only (``list pods`` is the one permission it needs):

- a **server** container is a name server, broker or proxy, recognised in this order by its
  labels (``app.kubernetes.io/name``/``component``/``app`` naming namesrv/broker/proxy), its
  command (``mqnamesrv``, ``mqbroker``, ``mqproxy`` or the ``*Startup`` classes), its ports
  (9876, 10911, 8081 on a RocketMQ image) or its image name;
- a **client** is any other container with RocketMQ settings in its environment: the name-server
  address (``rocketmq.namesrv.addr``, ``ROCKETMQ_NAMESRV_ADDR``, ``NAMESRV_ADDR``,
  ``rocketmq.name-server``), gRPC endpoints (``ROCKETMQ_ENDPOINT(S)``, ``rocketmq.proxy.endpoints``),
  producer and consumer groups, topic and tag — also as ``-D`` options in ``JAVA_OPTS``-style
  variables. Settings in mounted files or ``envFrom`` ConfigMaps are not read.

Pods are grouped into workloads by their stable labels, so a Deployment with three replicas is
one server or one client.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bridge.k8s import Kube

COMPONENTS = ("namesrv", "broker", "proxy")
SERVER_PORTS = {9876: "namesrv", 10911: "broker", 8081: "proxy"}
COMMAND_HINTS = {
    "namesrv": ("mqnamesrv", "NamesrvStartup"),
    "broker": ("mqbroker", "BrokerStartup"),
    "proxy": ("mqproxy", "ProxyStartup"),
}
# Labels that name one pod rather than the workload: never part of a target selector.
POD_LABELS = {
    "pod-template-hash",
    "controller-revision-hash",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
}
NAME_LABELS = ("app.kubernetes.io/name", "app", "k8s-app", "name")

# Setting → the canonical key it means (keys compared after upper-casing and . - → _).
SETTINGS = {
    "ROCKETMQ_NAMESRV_ADDR": "namesrv",
    "NAMESRV_ADDR": "namesrv",
    "ROCKETMQ_NAME_SERVER": "namesrv",
    "ROCKETMQ_NAMESERVER": "namesrv",
    "ROCKETMQ_NAMESRVADDR": "namesrv",
    "ROCKETMQ_ENDPOINT": "endpoints",
    "ROCKETMQ_ENDPOINTS": "endpoints",
    "ROCKETMQ_PROXY_ENDPOINTS": "endpoints",
    "ROCKETMQ_PROXY_ADDR": "endpoints",
    "ROCKETMQ_GRPC_ENDPOINTS": "endpoints",
    "ROCKETMQ_PRODUCER_GROUP": "producer_group",
    "ROCKETMQ_CONSUMER_GROUP": "consumer_group",
    "ROCKETMQ_TOPIC": "topic",
    "ROCKETMQ_TAG": "tag",
}
_JAVA_OPT = re.compile(r"-D([A-Za-z0-9_.\-]+)=(\S+)")


def canonical(name: str) -> str:
    return re.sub(r"[.\-]", "_", name).upper()


@dataclass(frozen=True)
class Workload:
    """One server or client: the pods that share its selector labels."""

    kind: str  # namesrv | broker | proxy | client
    name: str
    namespace: str
    labels: Mapping[str, str]  # the selector a drill targets
    pods: tuple[str, ...]
    images: tuple[str, ...]
    container: str | None = None
    settings: Mapping[str, str] = field(default_factory=dict)  # clients: namesrv, endpoints, groups…
    ports: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "labels": dict(self.labels),
            "pods": list(self.pods),
            "images": list(self.images),
            "container": self.container,
            "settings": dict(self.settings),
            "ports": list(self.ports),
        }


@dataclass(frozen=True)
class Topology:
    servers: tuple[Workload, ...]
    clients: tuple[Workload, ...]

    def to_json(self) -> dict[str, Any]:
        return {"servers": [s.to_json() for s in self.servers], "clients": [c.to_json() for c in self.clients]}


def _env(container: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in container.get("env") or []:
        value = item.get("value")
        if isinstance(value, str):
            out[str(item.get("name"))] = value
            for key, opt in _JAVA_OPT.findall(value):  # JAVA_OPTS="-Drocketmq.namesrv.addr=…"
                out.setdefault(key, opt)
    return out


def client_settings(container: Mapping[str, Any]) -> dict[str, str]:
    """The RocketMQ settings a container's environment carries, by canonical key."""
    found: dict[str, str] = {}
    for name, value in _env(container).items():
        key = SETTINGS.get(canonical(name))
        if key and value:
            found.setdefault(key, value)
    return found


def server_kind(labels: Mapping[str, str], container: Mapping[str, Any]) -> str | None:
    """namesrv | broker | proxy when the container is one, else None."""
    named = " ".join(v.lower() for k, v in labels.items() if k in (*NAME_LABELS, "app.kubernetes.io/component"))
    for kind in COMPONENTS:
        if kind in named and ("rocketmq" in named or "rocketmq" in " ".join(labels.values()).lower()):
            return kind
    command = " ".join(str(a) for a in [*(container.get("command") or []), *(container.get("args") or [])])
    for kind, hints in COMMAND_HINTS.items():
        if any(h in command for h in hints):
            return kind
    image = str(container.get("image", "")).lower()
    ports = {int(p.get("containerPort", 0)) for p in container.get("ports") or []}
    if "rocketmq" in image:
        for kind in COMPONENTS:
            if kind in image.rsplit("/", 1)[-1]:
                return kind
        for port, kind in SERVER_PORTS.items():
            if port in ports:
                return kind
    return None


def selector(labels: Mapping[str, str]) -> dict[str, str]:
    """The labels that select the workload: its name label if it has one, else every stable label."""
    for key in NAME_LABELS:
        if key in labels:
            return {key: labels[key]}
    return {k: v for k, v in labels.items() if k not in POD_LABELS}


def discover(pods: Iterable[Mapping[str, Any]]) -> Topology:
    """The servers and clients among ``pods`` (Kubernetes Pod objects as dicts)."""
    groups: dict[tuple[str, str, tuple[tuple[str, str], ...]], dict[str, Any]] = {}
    for pod in pods:
        meta = pod.get("metadata") or {}
        labels = dict(meta.get("labels") or {})
        ns = str(meta.get("namespace") or "default")
        for container in (pod.get("spec") or {}).get("containers") or []:
            kind = server_kind(labels, container)
            settings = {} if kind else client_settings(container)
            if kind is None and not settings:
                continue
            sel = selector(labels) or {"pod": str(meta.get("name"))}
            key = (kind or "client", ns, tuple(sorted(sel.items())))
            group = groups.setdefault(
                key, {"pods": [], "images": set(), "settings": {}, "ports": set(), "container": container.get("name")}
            )
            if meta.get("name") not in group["pods"]:
                group["pods"].append(str(meta.get("name")))
            group["images"].add(str(container.get("image", "")))
            group["settings"].update(settings)
            group["ports"].update(int(p.get("containerPort", 0)) for p in container.get("ports") or [])
    servers: list[Workload] = []
    clients: list[Workload] = []
    for (kind, ns, pairs), g in sorted(groups.items()):
        sel = dict(pairs)
        w = Workload(
            kind=kind,
            name=next(iter(sel.values())),
            namespace=ns,
            labels=sel,
            pods=tuple(sorted(g["pods"])),
            images=tuple(sorted(g["images"])),
            container=g["container"],
            settings=dict(sorted(g["settings"].items())),
            ports=tuple(sorted(g["ports"])),
        )
        (clients if kind == "client" else servers).append(w)
    servers.sort(key=lambda w: (COMPONENTS.index(w.kind), w.namespace, w.name))
    return Topology(servers=tuple(servers), clients=tuple(clients))


def uses(client: Workload, server: Workload) -> bool:
    """Whether the client's settings point at the server (by service name or pod name), or name none."""
    targets = " ".join(client.settings.get(k, "") for k in ("namesrv", "endpoints")).lower()
    if not targets:
        return False
    names = {server.name.lower(), *(p.lower() for p in server.pods)}
    if any(n and n in targets for n in names):
        return True
    # Brokers are reached through a router: the name server (remoting clients) or the proxy
    # (RocketMQ 5 gRPC clients). Either way a client uses the brokers of its namespace.
    if server.kind == "broker":
        return client.namespace == server.namespace
    if server.kind == "proxy":
        return bool(client.settings.get("endpoints")) and client.namespace == server.namespace
    return False


def render(topology: Topology) -> str:
    """A plain-text view of the topology, servers first, then each client and what it uses."""
    lines = ["RocketMQ servers:"] if topology.servers else ["RocketMQ servers: none found"]
    for s in topology.servers:
        sel = ",".join(f"{k}={v}" for k, v in s.labels.items())
        lines.append(
            f"  {s.kind:8} {s.namespace}/{s.name}  pods={len(s.pods)}  selector {sel}  image {', '.join(s.images)}"
        )
    lines.append("Clients:" if topology.clients else "Clients: none found")
    for c in topology.clients:
        lines.append(f"  {c.namespace}/{c.name}  pods={len(c.pods)}")
        for key, value in c.settings.items():
            lines.append(f"      {key} = {value}")
        used = [f"{s.kind} {s.name}" for s in topology.servers if uses(c, s)]
        lines.append(f"      uses: {', '.join(used) or 'no server found in the scanned namespaces'}")
    return "\n".join(lines)


def discover_cluster(kube: Kube, *, namespace: str | None = None) -> Topology:
    """Discover over the pods of one namespace, or of every namespace when none is given."""
    return discover(kube.list_pods(namespace=namespace, all_namespaces=namespace is None))
