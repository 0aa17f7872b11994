"""What discovery finds: settings, workloads (servers, clients, admin tools), pairs, the topology.

Plain frozen dataclasses; ``to_json`` never carries a Secret's value (a setting read from a
Secret shows where it came from, not what it is).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SERVER_KINDS = ("namesrv", "broker", "proxy")


@dataclass(frozen=True)
class Setting:
    """One RocketMQ setting of a client: what it means, how it was spelled, where it came from."""

    key: str  # namesrv | endpoints | producer_group | consumer_group | topic | tag
    name: str  # as written: rocketmq.name-server, NAMESRV_ADDR, …
    value: str | None  # None: set from a ConfigMap/Secret that could not be read
    origin: str  # "env", "args", "-D in JAVA_OPTS", "ConfigMap shop/app-config key x", "Secret …"
    secret: bool = False

    def shown(self) -> str:
        """The value as it may be printed or written."""
        if self.value is None:
            return f"set from {self.origin}, value unknown"
        if self.secret:
            return f"set from {self.origin}, value hidden"
        return self.value

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "name": self.name, "value": self.shown(), "origin": self.origin}


@dataclass(frozen=True)
class Workload:
    """One server, client or admin tool: the pods of one controller (and, for servers, one kind)."""

    kind: str  # namesrv | broker | proxy | client | admin
    name: str  # the controller's name (Deployment, StatefulSet, …), else the pod's
    namespace: str
    controller: str  # "Deployment/frontend", "StatefulSet/rocketmq-broker-0", "Pod/x"
    labels: Mapping[str, str]  # the selector a drill targets ({} when none selects exactly these pods)
    pods: tuple[str, ...]
    images: tuple[str, ...]
    container: str | None = None
    found: tuple[Setting, ...] = ()
    ports: tuple[int, ...] = ()
    pod_ips: tuple[str, ...] = ()
    selector_note: str = ""  # why there is no selector, or how the pods are named instead
    target_pods: tuple[str, ...] = ()  # named pods when no label selects exactly the workload
    service_url: str | None = None  # http://<svc>.<ns>.svc.cluster.local:<port> of a Service in front of it
    metrics_url: str | None = None  # a Prometheus endpoint its pods declare (port named *metrics*, annotations)

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def settings(self) -> dict[str, str]:
        """key → the first value, as it may be shown (Secrets hidden)."""
        out: dict[str, str] = {}
        for s in self.found:
            out.setdefault(s.key, s.shown())
        return out

    def values(self, key: str) -> list[str]:
        """Every known value of ``key``, Secrets included: for matching only, never for output."""
        return [s.value for s in self.found if s.key == key and s.value is not None]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
            "controller": self.controller,
            "labels": dict(self.labels),
            "target_pods": list(self.target_pods),
            "selector_note": self.selector_note,
            "pods": list(self.pods),
            "images": list(self.images),
            "container": self.container,
            "settings": self.settings,
            "found": [s.to_json() for s in self.found],
            "ports": list(self.ports),
            "service_url": self.service_url,
            "metrics_url": self.metrics_url,
        }


@dataclass(frozen=True)
class Pair:
    """A client that reaches a server, and why we think so (the chain of resolution)."""

    client: Workload
    server: Workload
    why: str

    def to_json(self) -> dict[str, Any]:
        return {"client": self.client.ref, "server": f"{self.server.kind} {self.server.ref}", "why": self.why}


@dataclass(frozen=True)
class Topology:
    servers: tuple[Workload, ...]
    clients: tuple[Workload, ...]
    admin: tuple[Workload, ...] = ()
    pairs: tuple[Pair, ...] = ()
    unpaired: Mapping[str, str] = field(default_factory=dict)  # client ref → why it uses no server
    notes: tuple[str, ...] = ()  # what could not be read (permissions), and what that costs
    pods: tuple[Mapping[str, Any], ...] = field(default=(), compare=False, repr=False)  # as listed: guards re-check

    def servers_of(self, client: Workload) -> list[Pair]:
        return [p for p in self.pairs if p.client == client]

    def to_json(self) -> dict[str, Any]:
        return {
            "servers": [s.to_json() for s in self.servers],
            "clients": [c.to_json() for c in self.clients],
            "admin_tools": [a.to_json() for a in self.admin],
            "pairs": [p.to_json() for p in self.pairs],
            "unpaired": dict(self.unpaired),
            "notes": list(self.notes),
        }
