"""Faults on disk: one directory per fault with its record, its lock and its watchdog.

``<state>/faults/<id>/fault.json`` holds the action, the deadline, the planned undo (written
before the fault is applied, so a crash in between is still taken back) and the final undo.
Every undo runs under the directory's file lock, so mqdrill and the watchdog never both act.
"""

from __future__ import annotations

import fcntl
import json
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bridge import process
from bridge.env import faults, procs
from bridge.env.config import EnvConfig
from bridge.errors import InjectionError, MqdrillError, RecoveryError
from bridge.timefmt import iso


def fault_dir(cfg: EnvConfig, fault_id: str) -> Path:
    return cfg.faults_dir / fault_id


def load(cfg: EnvConfig, fault_id: str) -> dict[str, Any]:
    path = fault_dir(cfg, fault_id) / "fault.json"
    try:
        return dict(json.loads(path.read_text()))
    except FileNotFoundError as exc:
        raise RecoveryError(f"no fault record at {path}", leftovers=[fault_id]) from exc


def _save(cfg: EnvConfig, record: Mapping[str, Any]) -> None:
    path = fault_dir(cfg, record["id"]) / "fault.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    tmp.replace(path)


@contextmanager
def _locked(cfg: EnvConfig, fault_id: str) -> Iterator[None]:
    with open(fault_dir(cfg, fault_id) / "lock", "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def is_done(cfg: EnvConfig, fault_id: str) -> bool:
    try:
        return bool(load(cfg, fault_id).get("recovered_at"))
    except RecoveryError:
        return True


def active_ids(cfg: EnvConfig) -> list[str]:
    if not cfg.faults_dir.is_dir():
        return []
    return sorted(d.name for d in cfg.faults_dir.iterdir() if (d / "fault.json").is_file() and not is_done(cfg, d.name))


def _spawn_watchdog(cfg: EnvConfig, fault_id: str) -> procs.ProcId:
    argv = [sys.executable, "-m", "bridge.env.watchdog", str(cfg.state_dir), fault_id]
    pid = process.spawn(argv, log_file=fault_dir(cfg, fault_id) / "watchdog.log")
    return procs.identify(pid) or procs.ProcId(pid, 0)


def inject(
    cfg: EnvConfig, fault_id: str, kind: str, service: str, params: Mapping[str, Any], deadline_s: int
) -> dict[str, Any]:
    """Record, arm the watchdog, apply and confirm one fault; return its record."""
    if deadline_s <= 0:
        raise InjectionError(f"fault {fault_id}: deadline_s must be > 0 (every fault needs a hard end)")
    now = time.time()
    record: dict[str, Any] = {
        "id": fault_id, "kind": kind, "service": service, "params": dict(params),
        "created_at": now, "deadline_at": now + deadline_s, "state_dir": str(cfg.state_dir),
        "undo": faults.planned_undo(cfg, kind, service, params, fault_id),
    }  # fmt: skip
    if kind == "kill" and "restart_after_s" in params:
        record["restart_at"] = now + float(params["restart_after_s"])
    fault_dir(cfg, fault_id).mkdir(parents=True, exist_ok=False)
    _save(cfg, record)
    watchdog = _spawn_watchdog(cfg, fault_id)
    record["watchdog"] = {"pid": watchdog.pid, "start": watchdog.start}
    _save(cfg, record)
    try:
        record["undo"] = faults.apply(cfg, kind, service, params, fault_id, deadline_s)
    except Exception as exc:  # whatever went wrong, take back what may be half-applied
        recover(cfg, fault_id, by="inject-failed")
        if isinstance(exc, MqdrillError):
            raise
        raise InjectionError(f"{kind} on {service} failed: {type(exc).__name__}: {exc}") from exc
    record["confirmed_at"] = time.time()
    _save(cfg, record)
    return record


def supervise_restart(cfg: EnvConfig, fault_id: str) -> None:
    """The supervisor's restart of a killed service (pod-kill), unless the fault is already over."""
    with _locked(cfg, fault_id):
        record = load(cfg, fault_id)
        if record.get("recovered_at"):
            return
        faults.restart(cfg, record["service"])
        record["restarted_at"] = time.time()
        _save(cfg, record)


def recover(
    cfg: EnvConfig, fault_id: str, *, by: str = "mqdrill", retire: bool = True, restart_killed: bool = True
) -> dict[str, Any]:
    """Take the fault back (idempotent), then retire its watchdog; return the final record."""
    with _locked(cfg, fault_id):
        record = load(cfg, fault_id)
        if not record.get("recovered_at"):
            if record["kind"] != "kill" or restart_killed:
                faults.undo(cfg, record["kind"], record["service"], record.get("undo", {}))
            record["recovered_at"] = time.time()
            record["recovered_by"] = by
            _save(cfg, record)
    if retire and "watchdog" in record:
        dog = procs.ProcId(record["watchdog"]["pid"], record["watchdog"]["start"])
        procs.send(dog, signal.SIGTERM)
        procs.wait_gone(dog, 5.0)
    return record


def ended_note(record: Mapping[str, Any]) -> str:
    """Who ended a fault and when, in words: ``ended by the watchdog at 2026-…Z``."""
    by = str(record.get("recovered_by") or "unknown")
    who = {"watchdog": "the watchdog", "mqdrill": "mqdrill", "inject-failed": "mqdrill after a failed inject"}
    at = record.get("recovered_at")
    return f"ended by {who.get(by, by)}" + (f" at {iso(float(at))}" if at else "")


def observe(cfg: EnvConfig, fault_id: str) -> tuple[str, str]:
    """(``injected`` | ``recovered`` | ``partial``, detail) as seen now."""
    record = load(cfg, fault_id)
    still = faults.active(cfg, record["kind"], record["service"], record.get("undo", {}))
    if record.get("recovered_at"):
        return (
            ("partial", "recorded as recovered but the effect is still there")
            if still
            else ("recovered", ended_note(record))
        )
    return (
        ("injected", f"{record['kind']} on {record['service']}")
        if still
        else ("recovered", "the effect is gone (e.g. a supervisor restarted the service)")
    )
