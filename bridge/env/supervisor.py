"""A host supervisor for the embedded environment: restart a service that died, as systemd's
``Restart=always`` (with ``RestartSec``) would on a host running self-built RocketMQ.

The local engine restarts what it killed itself; a fault from outside — the real ``blade`` on
this host — kills a service nobody restarts. ``python -m bridge.env.supervisor <state> <service>``
watches one service until the time in its record (``<state>/supervisor/<service>.json``) and
restarts it ``restart_after_s`` after it was first seen down. It never restarts a service
whose pid file is gone (``env down`` stopped it) and exits on SIGTERM; ``stop_all`` is what
``env down`` calls first. The loop (:func:`watch`) takes its clock and actions as arguments.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from bridge import process
from bridge.env import procs
from bridge.env.config import EnvConfig


def record_path(cfg: EnvConfig, service: str) -> Path:
    return cfg.state_dir / "supervisor" / f"{service}.json"


def _read(cfg: EnvConfig, service: str) -> dict[str, Any]:
    try:
        raw = json.loads(record_path(cfg, service).read_text())
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _write(cfg: EnvConfig, service: str, record: dict[str, Any]) -> None:
    path = record_path(cfg, service)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(path)


def _alive(record: dict[str, Any]) -> procs.ProcId | None:
    if "pid" not in record:
        return None
    proc = procs.ProcId(int(record["pid"]), int(record.get("start", 0)))
    return proc if procs.is_running(proc) else None


def ensure(cfg: EnvConfig, service: str, *, restart_after_s: float, until: float) -> procs.ProcId:
    """A supervisor for ``service`` runs until at least ``until`` (Unix s): extend the live one or start one."""
    record = _read(cfg, service)
    record.update(service=service, restart_after_s=restart_after_s, until=max(until, float(record.get("until", 0))))
    live = _alive(record)
    _write(cfg, service, record)
    if live is not None:
        return live
    argv = [sys.executable, "-m", "bridge.env.supervisor", str(cfg.state_dir), service]
    pid = process.spawn(argv, log_file=cfg.log_dir / f"supervisor-{service}.log")
    proc = procs.identify(pid) or procs.ProcId(pid, 0)
    record.update(pid=proc.pid, start=proc.start)
    _write(cfg, service, record)
    return proc


def release(cfg: EnvConfig, service: str) -> None:
    """The fault is over: the supervisor brings ``service`` back if it is still down, then exits."""
    record = _read(cfg, service)
    if record:
        _write(cfg, service, {**record, "until": 0.0})


def stop_all(cfg: EnvConfig) -> None:
    """Stop every supervisor of this environment (before ``env down`` stops the services)."""
    folder = cfg.state_dir / "supervisor"
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        record = _read(cfg, path.stem)
        live = _alive(record)
        if live is not None:
            procs.send(live, signal.SIGTERM)
            procs.wait_gone(live, 10.0)
        path.unlink(missing_ok=True)


def watch(
    *,
    restart_after_s: Callable[[], float],
    until: Callable[[], float],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    is_up: Callable[[], bool],
    is_managed: Callable[[], bool],
    terminated: Callable[[], bool],
    restart: Callable[[], None],
    tick: float = 0.5,
) -> str:
    """Run until ``until()``; return why it stopped: ``until``, ``terminated`` or ``unmanaged``."""
    down_since: float | None = None
    while True:
        if terminated():
            return "terminated"
        if not is_managed():
            return "unmanaged"  # the pid file is gone: `env down` stopped it on purpose
        now = clock()
        if is_up():
            down_since = None
            if now >= until():
                return "until"
        elif down_since is None:
            down_since = now
        elif now - down_since >= restart_after_s():
            restart()
            down_since = None
        sleep(tick)


def main(argv: list[str]) -> int:
    from bridge.env import faults, services
    from bridge.env.config import load_config

    state_dir, service = argv
    cfg = load_config(state_dir)
    got_term = {"flag": False}

    def on_term(signum: int, frame: FrameType | None) -> None:
        got_term["flag"] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    def restart() -> None:
        print(f"supervisor {service}: down; restarting at {time.time():.3f}", flush=True)
        try:
            faults.restart(cfg, service)
            print(f"supervisor {service}: up again at {time.time():.3f}", flush=True)
        except Exception as exc:  # noqa: BLE001 - keep supervising; the next round tries again
            print(f"supervisor {service}: restart failed: {exc}", flush=True)

    why = watch(
        restart_after_s=lambda: float(_read(cfg, service).get("restart_after_s", 10.0)),
        until=lambda: float(_read(cfg, service).get("until", 0.0)),
        clock=time.time,
        sleep=time.sleep,
        is_up=lambda: services.running(cfg, service) is not None,
        is_managed=lambda: cfg.pid_file(service).exists(),
        terminated=lambda: got_term["flag"],
        restart=restart,
    )
    print(f"supervisor {service}: {why} at {time.time():.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
