"""Which servers a client's settings reach, and why: the pairs a drill may be written for.

An address ``host:port`` reaches a server when ``host`` is, seen from the client's namespace:
a Service in that namespace (the short name only resolves there), ``svc.ns``, ``svc.ns.svc``
or ``svc.ns.svc.<cluster domain>``, a StatefulSet pod's own name under its headless Service
(``pod.svc.ns.svc.cluster.local``), an ExternalName Service pointing at one of these, the
cluster IP of a Service, or the IP of a server's pod; a Service leads to the pods its selector
(or, without one, its Endpoints) picks. ``localhost`` is the pod itself. When Services cannot
be read, a name is matched to a workload of that name in that namespace, and the reason says so.

Brokers are not addressed by clients: a client reaches the brokers that joined the name server
it names (the broker's own ``NAMESRV_ADDR`` / ``-n`` / ``namesrvAddr``), or, through a proxy,
the brokers of the proxy's name server.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bridge.discovery.model import Pair, Workload
from bridge.discovery.workloads import Pod, labels_of, matches, name_of, namespace_of, pod_ips

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Network:
    """The objects names resolve through; ``services``/``endpoints`` None when they could not be read."""

    pods: Sequence[Pod]
    services: Sequence[Mapping[str, Any]] | None
    endpoints: Sequence[Mapping[str, Any]] | None = None


def split_addresses(value: str) -> list[str]:
    """Hosts of ``a:9876;b:9876``, ``http://a:8081``, ``a:8081,b:8081`` (scheme, port and path dropped)."""
    hosts = []
    for part in re.split(r"[;,\s]+", value.strip()):
        part = re.sub(r"^[a-z]+://", "", part).split("/", 1)[0]
        if part.startswith("["):  # [::1]:9876
            hosts.append(part[1:].split("]", 1)[0])
        elif part:
            hosts.append(part.rsplit(":", 1)[0] if part.count(":") == 1 else part)
    return [h.lower().rstrip(".") for h in hosts if h.rstrip(".")]  # "name." is the absolute DNS name


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class Resolver:
    """Resolves hosts to the pods behind them, from one namespace's point of view."""

    def __init__(self, net: Network, servers: Sequence[Workload]) -> None:
        self.net = net
        self.servers = servers
        self._svc = {(str(s["metadata"].get("namespace")), str(s["metadata"]["name"])): s for s in net.services or []}
        self._eps = {(str(e["metadata"].get("namespace")), str(e["metadata"]["name"])): e for e in net.endpoints or []}

    def _service_pods(self, ns: str, svc: Mapping[str, Any], depth: int) -> tuple[set[tuple[str, str]], str]:
        spec = svc.get("spec") or {}
        name = svc["metadata"]["name"]
        if spec.get("type") == "ExternalName" and spec.get("externalName") and depth < 3:
            pods, why = self.pods_of(str(spec["externalName"]).lower(), ns, depth=depth + 1)
            return pods, f"Service {ns}/{name} (ExternalName) → {why}"
        selector = {str(k): str(v) for k, v in (spec.get("selector") or {}).items()}
        if selector:
            pods = {
                (ns, name_of(p)) for p in self.net.pods if namespace_of(p) == ns and matches(labels_of(p), selector)
            }
            return pods, f"Service {ns}/{name}"
        ips = {
            str(a.get("ip"))
            for subset in (self._eps.get((ns, name)) or {}).get("subsets") or []
            for a in subset.get("addresses") or []
        }
        return self._pods_with_ips(ips), f"Service {ns}/{name} (Endpoints)"

    def _pods_with_ips(self, ips: set[str]) -> set[tuple[str, str]]:
        return {(namespace_of(p), name_of(p)) for p in self.net.pods if ips & set(pod_ips(p))}

    def _candidates(self, host: str, ns: str) -> list[tuple[str, str, str | None]]:
        """(namespace, service, pod hostname) readings of a DNS name, most specific first."""
        t = host.split(".")
        if "svc" in t:
            i = t.index("svc")
            return [(t[i - 1], t[i - 2], t[i - 3] if i >= 3 else None)] if i >= 2 else []
        if len(t) == 1:
            return [(ns, t[0], None)]
        if len(t) == 2:  # pod.svc in this namespace, or svc.namespace
            return [(ns, t[1], t[0]), (t[1], t[0], None)]
        if len(t) == 3:
            return [(t[2], t[1], t[0])]
        return []

    def pods_of(self, host: str, ns: str, *, depth: int = 0) -> tuple[set[tuple[str, str]], str]:
        """The (namespace, pod) pairs ``host`` leads to from namespace ``ns``, and the chain that says why."""
        if _is_ip(host):
            for (sns, _), svc in self._svc.items():
                if (svc.get("spec") or {}).get("clusterIP") == host:
                    pods, why = self._service_pods(sns, svc, depth)
                    return pods, f"cluster IP of {why}"
            return self._pods_with_ips({host}), f"pod IP {host}"
        for cns, cname, hostname in self._candidates(host, ns):
            if self.net.services is None:  # Services not readable: match a workload of that name
                pods = {
                    (w.namespace, p)
                    for w in self.servers
                    if w.namespace == cns and cname in (w.name, *w.pods)
                    for p in w.pods
                }
                if pods:
                    return pods, f"workload {cns}/{cname} by name (Services could not be read)"
                continue
            found = self._svc.get((cns, cname))
            if found is None:
                continue
            pods, why = self._service_pods(cns, found, depth)
            if hostname is not None:
                pods = {(n, p) for n, p in pods if p == hostname}
                why = f"pod {hostname} of {why}"
            if pods:
                return pods, why
        return set(), "no Service or pod of that name" + (" in namespace " + ns if "." not in host else "")


def _servers_at(servers: Sequence[Workload], pods: set[tuple[str, str]], kind: str) -> list[Workload]:
    return [w for w in servers if w.kind == kind and any((w.namespace, p) in pods for p in w.pods)]


def reached(resolver: Resolver, who: Workload, key: str, kind: str) -> list[tuple[Workload, str]]:
    """Servers of ``kind`` that ``who``'s ``key`` settings resolve to, each with the reason."""
    out: list[tuple[Workload, str]] = []
    for s in who.found:
        if s.key != key or s.value is None:
            continue
        for host in split_addresses(s.value):
            if host in LOCAL_HOSTS:
                pods, chain = {(who.namespace, p) for p in who.pods}, "the same pod"
            else:
                pods, chain = resolver.pods_of(host, who.namespace)
            for server in _servers_at(resolver.servers, pods, kind):
                if server == who or any(server == w for w, _ in out):
                    continue
                said = (
                    f"{s.name} (set from {s.origin}, value hidden) resolves to it"
                    if s.secret
                    else (f"{s.name}={s.value} ({s.origin}) → {chain}")
                )
                out.append((server, said))
    return out


def joined_name_servers(resolver: Resolver, server: Workload) -> list[tuple[Workload, str]]:
    """The name servers a broker (or proxy) registers with, by its own setting or, failing that, assumed."""
    found = reached(resolver, server, "namesrv", "namesrv")
    if found or any(s.key == "namesrv" for s in server.found):
        return found
    local = [w for w in resolver.servers if w.kind == "namesrv" and w.namespace == server.namespace]
    if len(local) == 1:
        return [(local[0], f"assumed: the only name server in {server.namespace} (its own setting was not found)")]
    return []


def pairs_for(resolver: Resolver, client: Workload) -> list[Pair]:
    """Every server the client reaches: named name servers and proxies, and the brokers behind them."""
    pairs: list[Pair] = []
    brokers = [w for w in resolver.servers if w.kind == "broker"]
    joins = {(b.kind, b.ref): joined_name_servers(resolver, b) for b in brokers}

    def add(server: Workload, why: str) -> None:
        if all(p.server != server for p in pairs):
            pairs.append(Pair(client, server, why))

    def behind(ns_workload: Workload, via: str) -> None:
        for b in brokers:
            for n, how in joins[(b.kind, b.ref)]:
                if n == ns_workload:
                    add(b, f"{via}; broker joins name server {n.ref}: {how}")

    for n, why in reached(resolver, client, "namesrv", "namesrv"):
        add(n, why)
        behind(n, f"through name server {n.ref}")
    for p, why in reached(resolver, client, "endpoints", "proxy"):
        add(p, why)
        for b in (w for w in brokers if w.pods == p.pods and w.namespace == p.namespace):
            add(b, f"{why}; the proxy runs inside this broker (--enable-proxy)")
        for n, _ in joined_name_servers(resolver, p):
            behind(n, f"through proxy {p.ref}")
    return pairs
