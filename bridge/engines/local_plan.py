"""Local plans: actions against the embedded environment's services (bridge/env).

Network causes act on the Toxiproxy listeners the clients use: the Python gRPC clients reach
the broker only through the proxy, so a client ↔ broker fault is placed on the ``proxy``
listener of the chosen client(s). Every action carries its hard end (``deadline_s``), kept by a
watchdog that outlives mqdrill.
"""

from __future__ import annotations

from bridge.engines.base import Fault, LocalAction, ParamValue, Plan
from bridge.errors import UnsupportedCombination
from bridge.spec.catalog import Catalog

# Components whose client traffic passes through a Toxiproxy listener in the embedded environment.
NETWORK_HOPS = {"broker": "proxy", "proxy": "proxy", "namesrv": "namesrv"}


def _network_service(fault: Fault) -> str:
    hop = NETWORK_HOPS.get(fault.component)
    if hop is None:
        # A fault "on" a client app: hit that client's own path to the middleware.
        return "proxy"
    return hop


def _client(fault: Fault) -> str:
    if fault.component in ("frontend", "cartservice"):
        return fault.component
    return str(fault.params.get("client", "all"))


def actions(fault: Fault) -> list[LocalAction]:
    p, cause, deadline = fault.params, fault.cause, fault.duration_s
    services = list(fault.target.services)

    def each(kind: str, params: dict[str, ParamValue] | None = None, service: str | None = None) -> list[LocalAction]:
        names = [service] if service else services
        return [LocalAction(kind, s, dict(params or {}), deadline) for s in names]  # type: ignore[arg-type]

    if cause in ("pod-kill", "container-kill"):
        return each("kill", {"restart_after_s": float(p.get("restart_after", 10.0))})
    if cause == "process-kill":
        return each("kill")
    if cause in ("pod-failure", "process-pause"):
        return each("pause")
    client = _client(fault)
    if cause in ("network-delay", "network-loss"):
        attrs: dict[str, ParamValue]
        if cause == "network-delay":
            attrs = {"type": "latency", "latency": int(p["latency_ms"]), "jitter": int(p["jitter_ms"])}
        else:
            # Toxiproxy has no packet loss; a `timeout` toxic with toxicity = loss share blackholes that
            # share of connections, which is how loss looks to a TCP client (stalls, then timeouts).
            attrs = {"type": "timeout", "timeout": 0, "toxicity": round(int(p["loss_percent"]) / 100, 2)}
        service = _network_service(fault)
        return [
            LocalAction("toxic", service, {**attrs, "stream": stream, "client": client}, deadline)
            for stream in _streams(str(p["direction"]))
        ]
    if cause == "network-drop":
        return [LocalAction("proxy-down", _network_service(fault), {"client": client}, deadline)]
    if cause == "cpu-full":
        return each("cpu-stress", {"workers": int(p["cpu_workers"]), "load": int(p["cpu_load"])})
    if cause == "disk-fill":
        return each("disk-fill", {"percent": int(p["fill_percent"])}, service="broker")
    if cause == "client-delay":
        attrs = {
            "type": "latency",
            "latency": int(p["latency_ms"]),
            "jitter": int(p["jitter_ms"]),
            "stream": "upstream",
        }
        return [LocalAction("toxic", "proxy", {**attrs, "client": client}, deadline)]
    if cause == "client-exception":
        attrs = {"type": "reset_peer", "timeout": 0, "stream": "upstream"}
        return [LocalAction("toxic", "proxy", {**attrs, "client": client}, deadline)]
    raise UnsupportedCombination(f"the local engine has no plan for cause {cause!r}")


def _streams(direction: str) -> tuple[str, ...]:
    """Toxiproxy streams for a direction: upstream = client → server (`to`), downstream = server → client.

    A toxic acts on one stream, so `both` takes two.
    """
    return {"to": ("upstream",), "from": ("downstream",), "both": ("upstream", "downstream")}[direction]


def plan(fault: Fault, catalog: Catalog, index: int = 0) -> Plan:
    del catalog, index  # local actions name services, not objects
    notes: tuple[str, ...] = ()
    if fault.cause in ("client-delay", "client-exception"):
        notes = ("in-process JVM faults have no local equivalent: the local engine acts on the client's connection",)
    return Plan(engine="local", fault=fault, local=tuple(actions(fault)), notes=notes)
