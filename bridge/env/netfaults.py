"""Network faults: Toxiproxy toxics, a disabled Toxiproxy listener, and iptables DROP rules.

Split from :mod:`bridge.env.faults`, which dispatches to these. Every function that injects
confirms the effect and returns the undo record; every undo is idempotent.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping
from typing import Any

from bridge import process
from bridge.env import procs, services
from bridge.env.config import HOST, EnvConfig
from bridge.errors import InjectionError, ProcessError, ToxiproxyError
from bridge.toxiproxy import Toxic, ToxiproxyClient

Params = Mapping[str, Any]


# ---------------------------------------------------------------- which proxies, which port
def proxies_for(service: str, client: str = "all") -> list[str]:
    """The Toxiproxy proxies a network fault on ``service`` acts on.

    The RocketMQ proxy (and, behind it, the broker) is reached by each client through its own
    listener, so ``client`` picks the producer side, the consumer side or both.
    """
    if client not in ("all", "frontend", "cartservice"):
        raise InjectionError(f"param client={client!r} is unknown: allowed frontend, cartservice, all")
    if service in ("proxy", "broker"):
        return ["frontend-proxy", "cartservice-proxy"] if client == "all" else [f"{client}-proxy"]
    table = {"namesrv": "namesrv-proxy", "redis": "redis-proxy", "frontend": "frontend-proxy",
             "cartservice": "cartservice-proxy"}  # fmt: skip
    if service not in table:
        raise InjectionError(f"no Toxiproxy proxy in front of {service!r}")
    return [table[service]]


# ---------------------------------------------------------------- Toxiproxy
def toxiproxy_client(cfg: EnvConfig) -> ToxiproxyClient:
    return ToxiproxyClient(cfg.toxiproxy_url)


def probe_round_trip(port: int, timeout: float = 3.0) -> float | None:
    """Seconds until a listener answers a greeting; None if it refuses, closes or stays silent.

    The gRPC proxy answers the HTTP/2 preface with a SETTINGS frame, Redis answers PING, so one
    round trip through Toxiproxy shows whether a toxic is in the path.
    """
    started = time.monotonic()
    try:
        with socket.create_connection((HOST, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
            data = sock.recv(64)
    except OSError:
        return None
    return time.monotonic() - started if data else None


def _probe_port(cfg: EnvConfig, proxy: str) -> int:
    for r in cfg.routes:
        if r.name == proxy:
            return r.listen_port
    raise InjectionError(f"no Toxiproxy proxy {proxy!r} in this environment (an external RocketMQ has none)")


def toxics_of(service: str, params: Params, action_id: str) -> list[Toxic]:
    kind = str(params.get("type", "latency"))
    stream = str(params.get("stream", "downstream"))
    streams = ["upstream", "downstream"] if stream == "both" else [stream]
    skip = {"type", "stream", "toxicity", "client"}
    attributes = {k: v for k, v in params.items() if k not in skip and isinstance(v, int | float)}
    toxicity = float(params.get("toxicity", 1.0))
    return [Toxic(f"mqdrill-{action_id}-{s}", kind, s, toxicity, attributes) for s in streams]


def inject_toxic(cfg: EnvConfig, service: str, params: Params, action_id: str) -> dict[str, Any]:
    client = toxiproxy_client(cfg)
    names = proxies_for(service, str(params.get("client", "all")))
    toxics = toxics_of(service, params, action_id)
    baseline = {p: probe_round_trip(_probe_port(cfg, p)) for p in names}
    added: list[list[str]] = []
    try:
        for p in names:
            for t in toxics:
                client.add_toxic(p, t)
                added.append([p, t.name])
    except ToxiproxyError as exc:
        for p, name in added:
            client.remove_toxic(p, name)
        raise InjectionError(f"toxic on {service}: {exc}") from exc
    undo: dict[str, Any] = {"toxics": added}
    for p in names:
        listed = {t.name for t in client.toxics(p)}
        if not all(t.name in listed for t in toxics):
            undo_toxic(cfg, undo)
            raise InjectionError(f"toxic not listed on {p} after adding it")
    undo["observed"] = {p: _observe_toxic(cfg, p, toxics[0], baseline[p]) for p in names}
    return undo


def _observe_toxic(cfg: EnvConfig, proxy: str, toxic: Toxic, baseline: float | None) -> str:
    """A note on how the listener answers now, compared with before the toxic."""
    if proxy in ("namesrv-proxy", "redis-proxy") or toxic.toxicity < 1.0:
        return "listed (no protocol probe for this listener)"
    now = probe_round_trip(_probe_port(cfg, proxy), timeout=2.0)
    return f"round trip before {_ms(baseline)}, with toxic {_ms(now)}"


def _ms(seconds: float | None) -> str:
    return "no answer" if seconds is None else f"{seconds * 1000:.0f} ms"


def undo_toxic(cfg: EnvConfig, undo: Mapping[str, Any]) -> None:
    client = toxiproxy_client(cfg)
    for p, name in undo.get("toxics", []):
        client.remove_toxic(p, name)


def inject_proxy_down(cfg: EnvConfig, service: str, params: Params) -> dict[str, Any]:
    client = toxiproxy_client(cfg)
    names = proxies_for(service, str(params.get("client", "all")))
    try:
        for p in names:
            client.set_enabled(p, False)
    except ToxiproxyError as exc:
        for p in names:
            client.set_enabled(p, True)
        raise InjectionError(f"proxy-down on {service}: {exc}") from exc
    ports = [_probe_port(cfg, p) for p in names]
    if not procs.wait_until(lambda: not any(services.port_open(port, 0.2) for port in ports), 3.0):
        for p in names:
            client.set_enabled(p, True)
        raise InjectionError(f"listeners {ports} still accept connections after disabling {names}")
    return {"proxies": names, "ports": ports}


def undo_proxy_down(cfg: EnvConfig, undo: Mapping[str, Any]) -> None:
    client = toxiproxy_client(cfg)
    for p in undo.get("proxies", []):
        client.set_enabled(p, True)


# ---------------------------------------------------------------- iptables
def drop_rules(port: int, direction: str, tag: str) -> list[list[str]]:
    match = {"in": ["--dport"], "out": ["--sport"], "both": ["--dport", "--sport"]}
    if direction not in match:
        raise InjectionError(f"param direction={direction!r} is unknown: allowed in, out, both")
    return [
        ["INPUT", "-i", "lo", "-p", "tcp", m, str(port), "-m", "comment", "--comment", tag, "-j", "DROP"]
        for m in match[direction]
    ]


def _iptables(*args: str, check: bool = True) -> bool:
    return process.run(["iptables", "-w", "5", *args], timeout=15, check=check).returncode == 0


def rule_present(rule: list[str]) -> bool:
    return _iptables("-C", *rule, check=False)


def inject_iptables_drop(cfg: EnvConfig, service: str, params: Params, action_id: str) -> dict[str, Any]:
    port = cfg.service_port(service)
    rules = drop_rules(port, str(params.get("direction", "in")), f"mqdrill:{action_id}")
    try:
        for rule in rules:
            _iptables("-I", *rule)
    except ProcessError as exc:
        undo_iptables({"rules": rules})
        raise InjectionError(f"iptables DROP on port {port}: {exc}") from exc
    if not all(rule_present(r) for r in rules):
        undo_iptables({"rules": rules})
        raise InjectionError(f"iptables rule for port {port} not found after inserting it")
    if services.port_open(port, timeout=0.5):
        undo_iptables({"rules": rules})
        raise InjectionError(f"port {port} still answers after the DROP rule")
    return {"rules": rules, "port": port}


def undo_iptables(undo: Mapping[str, Any]) -> None:
    for rule in undo.get("rules", []):
        while rule_present(rule):
            _iptables("-D", *rule)
