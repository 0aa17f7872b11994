"""Fault primitives on the embedded environment: apply (and confirm), observe, undo.

Each kind returns an ``undo`` record (plain JSON) holding everything :func:`undo` needs, so a
fault can be taken back from a record read from disk by another process (mqdrill recover, a
watchdog). :func:`undo` is idempotent. Confirmation observes the effect: the process is gone or
stopped, the toxic is listed and the listener answers differently, the rule is in the table,
the store filesystem is full and the broker says so.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bridge import process
from bridge.env import procs, rocketmq, services
from bridge.env.config import HOST, EnvConfig
from bridge.errors import InjectionError, ProcessError, RecoveryError, ToxiproxyError
from bridge.toxiproxy import Toxic, ToxiproxyClient

Params = Mapping[str, Any]
KINDS = ("kill", "pause", "toxic", "proxy-down", "iptables-drop", "disk-fill", "cpu-stress")
DISK_FULL_MARKER = "mark disk full"


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


def _running(cfg: EnvConfig, service: str) -> procs.ProcId:
    proc = services.running(cfg, service)
    if proc is None:
        raise InjectionError(f"{service} is not running: nothing to inject into (run `mqdrill env up`)")
    return proc


def _wait(predicate: Any, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


# ---------------------------------------------------------------- kill / pause
def _kill(cfg: EnvConfig, service: str, params: Params) -> dict[str, Any]:
    proc = _running(cfg, service)
    os.kill(proc.pid, signal.SIGKILL)
    if not procs.wait_gone(proc, 5.0):
        raise InjectionError(f"{service} (pid {proc.pid}) still alive after SIGKILL")
    # the leader turns zombie before its threads let go of the sockets: wait for the port too
    port = cfg.service_port(service)
    if not _wait(lambda: not services.port_open(port, 0.2), 10.0):
        raise InjectionError(f"{service} port {port} still accepts connections after SIGKILL")
    return {"pid": proc.pid, "start": proc.start}


def restart(cfg: EnvConfig, service: str, timeout: float = 60.0) -> None:
    """Start a killed service again (what a controller does) and wait for its port."""
    proc = services.start(cfg, service)
    if not services.wait_port(cfg, service, proc, timeout):
        raise RecoveryError(
            f"{service} did not come back within {timeout:g}s (see {cfg.log_file(service)})",
            leftovers=[service],
        )


def _pause(cfg: EnvConfig, service: str, params: Params) -> dict[str, Any]:
    proc = _running(cfg, service)
    os.kill(proc.pid, signal.SIGSTOP)
    if not _wait(lambda: procs.state_of(proc.pid) == "T", 3.0):
        os.kill(proc.pid, signal.SIGCONT)
        raise InjectionError(f"{service} (pid {proc.pid}) did not stop after SIGSTOP")
    return {"pid": proc.pid, "start": proc.start}


# ---------------------------------------------------------------- Toxiproxy
def _client(cfg: EnvConfig) -> ToxiproxyClient:
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


def _toxics_of(service: str, params: Params, action_id: str) -> list[Toxic]:
    kind = str(params.get("type", "latency"))
    stream = str(params.get("stream", "downstream"))
    streams = ["upstream", "downstream"] if stream == "both" else [stream]
    skip = {"type", "stream", "toxicity", "client"}
    attributes = {k: v for k, v in params.items() if k not in skip and isinstance(v, int | float)}
    toxicity = float(params.get("toxicity", 1.0))
    return [Toxic(f"mqdrill-{action_id}-{s}", kind, s, toxicity, attributes) for s in streams]


def _toxic(cfg: EnvConfig, service: str, params: Params, action_id: str) -> dict[str, Any]:
    client = _client(cfg)
    names = proxies_for(service, str(params.get("client", "all")))
    toxics = _toxics_of(service, params, action_id)
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
            _undo_toxic(cfg, undo)
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


def _undo_toxic(cfg: EnvConfig, undo: Mapping[str, Any]) -> None:
    client = _client(cfg)
    for p, name in undo.get("toxics", []):
        client.remove_toxic(p, name)


def _proxy_down(cfg: EnvConfig, service: str, params: Params) -> dict[str, Any]:
    client = _client(cfg)
    names = proxies_for(service, str(params.get("client", "all")))
    try:
        for p in names:
            client.set_enabled(p, False)
    except ToxiproxyError as exc:
        for p in names:
            client.set_enabled(p, True)
        raise InjectionError(f"proxy-down on {service}: {exc}") from exc
    ports = [_probe_port(cfg, p) for p in names]
    if not _wait(lambda: not any(services.port_open(port, 0.2) for port in ports), 3.0):
        for p in names:
            client.set_enabled(p, True)
        raise InjectionError(f"listeners {ports} still accept connections after disabling {names}")
    return {"proxies": names, "ports": ports}


def _undo_proxy_down(cfg: EnvConfig, undo: Mapping[str, Any]) -> None:
    client = _client(cfg)
    for p in undo.get("proxies", []):
        client.set_enabled(p, True)


# ---------------------------------------------------------------- iptables
def _rules(port: int, direction: str, tag: str) -> list[list[str]]:
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


def _iptables_drop(cfg: EnvConfig, service: str, params: Params, action_id: str) -> dict[str, Any]:
    port = cfg.service_port(service)
    rules = _rules(port, str(params.get("direction", "in")), f"mqdrill:{action_id}")
    try:
        for rule in rules:
            _iptables("-I", *rule)
    except ProcessError as exc:
        _undo_iptables({"rules": rules})
        raise InjectionError(f"iptables DROP on port {port}: {exc}") from exc
    if not all(rule_present(r) for r in rules):
        _undo_iptables({"rules": rules})
        raise InjectionError(f"iptables rule for port {port} not found after inserting it")
    if services.port_open(port, timeout=0.5):
        _undo_iptables({"rules": rules})
        raise InjectionError(f"port {port} still answers after the DROP rule")
    return {"rules": rules, "port": port}


def _undo_iptables(undo: Mapping[str, Any]) -> None:
    for rule in undo.get("rules", []):
        while rule_present(rule):
            _iptables("-D", *rule)


# ---------------------------------------------------------------- disk fill
def usage(path: Path) -> float:
    """Used fraction of the filesystem holding ``path``, as df computes it."""
    st = os.statvfs(path)
    return (st.f_blocks - st.f_bfree) / st.f_blocks if st.f_blocks else 0.0


def _disk_fill(cfg: EnvConfig, service: str, params: Params, action_id: str) -> dict[str, Any]:
    store = cfg.store_dir
    if not os.path.ismount(store):
        raise InjectionError(
            f"disk-fill needs the bounded filesystem mounted at {store}; `env up` could not mount it "
            "(mounting needs root; see docs/environment.md)"
        )
    percent = float(params.get("percent", 95))
    if not 50 <= percent <= 98:
        raise InjectionError(f"param percent={percent:g} out of range: allowed 50..98 (keep room for the broker)")
    st = os.statvfs(store)
    need = int(percent / 100 * st.f_blocks * st.f_frsize) - (st.f_blocks - st.f_bfree) * st.f_frsize
    fill = store / f"mqdrill-fill-{action_id}"
    logs = [rocketmq.log_dir(cfg) / n for n in ("store.log", "broker.log", "storeerror.log")]
    offsets = {str(p): p.stat().st_size if p.exists() else 0 for p in logs}
    if need > 0:
        with open(fill, "wb") as f:
            try:
                os.posix_fallocate(f.fileno(), 0, need)
            except OSError as exc:
                fill.unlink(missing_ok=True)
                raise InjectionError(f"could not fill {store}: {exc}") from exc
    undo = {"file": str(fill), "percent": percent, "logs": offsets}
    reached = usage(store) * 100
    if reached < percent - 1:
        _undo_disk_fill(undo)
        raise InjectionError(f"{store} only {reached:.1f}% full after filling (wanted {percent:g}%)")
    timeout = float(params.get("confirm_timeout_s", 90))
    if percent >= 90 and not _wait(lambda: broker_marked_full(offsets), timeout, step=0.5):
        _undo_disk_fill(undo)
        raise InjectionError(
            f"{store} is {reached:.1f}% full but the broker did not mark its disk full within {timeout:g}s"
        )
    undo["observed"] = (
        f"{store} {reached:.1f}% used; broker logged '{DISK_FULL_MARKER}'"
        if percent >= 90
        else f"{store} {reached:.1f}% used (below the broker's 90% refusal level)"
    )
    return undo


def broker_marked_full(offsets: Mapping[str, int]) -> bool:
    """Did any broker log gain the disk-full line since ``offsets`` were taken?"""
    for name, offset in offsets.items():
        path = Path(name)
        if not path.exists():
            continue
        with open(path, "rb") as f:
            f.seek(offset if path.stat().st_size >= offset else 0)
            if DISK_FULL_MARKER.encode() in f.read():
                return True
    return False


def _undo_disk_fill(undo: Mapping[str, Any]) -> None:
    if "file" in undo:
        Path(undo["file"]).unlink(missing_ok=True)


# ---------------------------------------------------------------- CPU
def _cpu_stress(cfg: EnvConfig, service: str, params: Params, action_id: str, seconds: int) -> dict[str, Any]:
    workers = int(params.get("workers", os.cpu_count() or 1))
    load = int(params.get("load", 100))
    if not (1 <= workers <= 64 and 1 <= load <= 100):
        raise InjectionError("cpu-stress params: workers 1..64, load 1..100")
    # stress-ng's own --timeout is a second hard end beside the watchdog
    argv = ["stress-ng", "--cpu", str(workers), "--cpu-load", str(load), "--timeout", f"{max(seconds, 1)}s"]
    log = cfg.faults_dir / action_id / "stress-ng.log"
    pid = process.spawn(argv, log_file=log)
    proc = procs.identify(pid) or procs.ProcId(pid, 0)
    if not _wait(lambda: len(_children(pid)) >= workers, 5.0):
        procs.stop_group(proc)
        raise InjectionError(f"stress-ng started no {workers} workers within 5s (see {log})")
    return {"pid": proc.pid, "start": proc.start, "workers": workers}


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = (entry / "stat").read_text()
                if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


# ---------------------------------------------------------------- the three verbs
def planned_undo(cfg: EnvConfig, kind: str, service: str, params: Params, action_id: str) -> dict[str, Any]:
    """The undo record as far as it is known before applying, saved so a crash mid-apply is undone."""
    if kind in ("kill", "pause"):
        proc = services.running(cfg, service)
        return {"pid": proc.pid, "start": proc.start} if proc else {}
    if kind == "toxic":
        names = proxies_for(service, str(params.get("client", "all")))
        return {"toxics": [[p, t.name] for p in names for t in _toxics_of(service, params, action_id)]}
    if kind == "proxy-down":
        return {"proxies": proxies_for(service, str(params.get("client", "all")))}
    if kind == "iptables-drop":
        port = cfg.service_port(service)
        return {
            "rules": _rules(port, str(params.get("direction", "in")), f"mqdrill:{action_id}"),
            "port": port,
        }
    if kind == "disk-fill":
        return {"file": str(cfg.store_dir / f"mqdrill-fill-{action_id}")}
    if kind == "cpu-stress":
        return {}  # stress-ng carries its own --timeout as the hard end until its pid is known
    raise InjectionError(f"unknown local action kind {kind!r}: allowed {', '.join(KINDS)}")


def apply(cfg: EnvConfig, kind: str, service: str, params: Params, action_id: str, seconds: int) -> dict[str, Any]:
    """Inject one fault and confirm its effect; return the undo record."""
    if kind == "kill":
        return _kill(cfg, service, params)
    if kind == "pause":
        return _pause(cfg, service, params)
    if kind == "toxic":
        return _toxic(cfg, service, params, action_id)
    if kind == "proxy-down":
        return _proxy_down(cfg, service, params)
    if kind == "iptables-drop":
        return _iptables_drop(cfg, service, params, action_id)
    if kind == "disk-fill":
        return _disk_fill(cfg, service, params, action_id)
    if kind == "cpu-stress":
        return _cpu_stress(cfg, service, params, action_id, seconds)
    raise InjectionError(f"unknown local action kind {kind!r}: allowed {', '.join(KINDS)}")


def undo(cfg: EnvConfig, kind: str, service: str, record: Mapping[str, Any]) -> None:
    """Take a fault back; doing it twice is harmless."""
    if kind == "kill":
        if services.running(cfg, service) is None:
            restart(cfg, service)
    elif kind == "pause":
        if "pid" in record:
            procs.send(procs.ProcId(record["pid"], record["start"]), signal.SIGCONT)
    elif kind == "toxic":
        _undo_toxic(cfg, record)
    elif kind == "proxy-down":
        _undo_proxy_down(cfg, record)
    elif kind == "iptables-drop":
        _undo_iptables(record)
    elif kind == "disk-fill":
        _undo_disk_fill(record)
    elif kind == "cpu-stress" and "pid" in record:
        procs.stop_group(procs.ProcId(record["pid"], record["start"]))


def active(cfg: EnvConfig, kind: str, service: str, record: Mapping[str, Any]) -> bool:
    """Is the fault still in place?"""
    if kind == "kill":
        return services.running(cfg, service) is None
    if kind == "pause":
        return "pid" in record and procs.state_of(record["pid"]) == "T"
    if kind == "toxic":
        client = _client(cfg)
        return any(name in {t.name for t in client.toxics(p)} for p, name in record.get("toxics", []))
    if kind == "proxy-down":
        client = _client(cfg)
        return any(not client.proxy(p).enabled for p in record.get("proxies", []))
    if kind == "iptables-drop":
        return any(rule_present(r) for r in record.get("rules", []))
    if kind == "disk-fill":
        return Path(record["file"]).exists()
    if kind == "cpu-stress":
        return "pid" in record and procs.is_running(procs.ProcId(record["pid"], record["start"]))
    return False
