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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bridge import process
from bridge.env import netfaults, procs, rocketmq, services
from bridge.env.config import EnvConfig
from bridge.errors import InjectionError, RecoveryError

Params = Mapping[str, Any]
KINDS = ("kill", "pause", "toxic", "proxy-down", "iptables-drop", "disk-fill", "cpu-stress")
DISK_FULL_MARKER = "mark disk full"


def _running(cfg: EnvConfig, service: str) -> procs.ProcId:
    proc = services.running(cfg, service)
    if proc is None:
        raise InjectionError(f"{service} is not running: nothing to inject into (run `mqdrill env up`)")
    return proc


# ---------------------------------------------------------------- kill / pause
def _kill(cfg: EnvConfig, service: str, params: Params) -> dict[str, Any]:
    proc = _running(cfg, service)
    os.kill(proc.pid, signal.SIGKILL)
    if not procs.wait_gone(proc, 5.0):
        raise InjectionError(f"{service} (pid {proc.pid}) still alive after SIGKILL")
    # the leader turns zombie before its threads let go of the sockets: wait for the port too
    port = cfg.service_port(service)
    if not procs.wait_until(lambda: not services.port_open(port, 0.2), 10.0):
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
    if not procs.wait_until(lambda: procs.state_of(proc.pid) == "T", 3.0):
        os.kill(proc.pid, signal.SIGCONT)
        raise InjectionError(f"{service} (pid {proc.pid}) did not stop after SIGSTOP")
    return {"pid": proc.pid, "start": proc.start}


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
    if percent >= 90 and not procs.wait_until(lambda: broker_marked_full(offsets), timeout, step=0.5):
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
    if not procs.wait_until(lambda: len(_children(pid)) >= workers, 5.0):
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
        names = netfaults.proxies_for(service, str(params.get("client", "all")))
        return {"toxics": [[p, t.name] for p in names for t in netfaults.toxics_of(service, params, action_id)]}
    if kind == "proxy-down":
        return {"proxies": netfaults.proxies_for(service, str(params.get("client", "all")))}
    if kind == "iptables-drop":
        port = cfg.service_port(service)
        return {
            "rules": netfaults.drop_rules(port, str(params.get("direction", "in")), f"mqdrill:{action_id}"),
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
        return netfaults.inject_toxic(cfg, service, params, action_id)
    if kind == "proxy-down":
        return netfaults.inject_proxy_down(cfg, service, params)
    if kind == "iptables-drop":
        return netfaults.inject_iptables_drop(cfg, service, params, action_id)
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
        netfaults.undo_toxic(cfg, record)
    elif kind == "proxy-down":
        netfaults.undo_proxy_down(cfg, record)
    elif kind == "iptables-drop":
        netfaults.undo_iptables(record)
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
        client = netfaults.toxiproxy_client(cfg)
        return any(name in {t.name for t in client.toxics(p)} for p, name in record.get("toxics", []))
    if kind == "proxy-down":
        client = netfaults.toxiproxy_client(cfg)
        return any(not client.proxy(p).enabled for p in record.get("proxies", []))
    if kind == "iptables-drop":
        return any(netfaults.rule_present(r) for r in record.get("rules", []))
    if kind == "disk-fill":
        return Path(record["file"]).exists()
    if kind == "cpu-stress":
        return "pid" in record and procs.is_running(procs.ProcId(record["pid"], record["start"]))
    return False
