"""``env repair``: restart what stayed broken, cheapest step first, and say what was done.

A drill takes its fault back, but a service can stay broken after it: a process that did not
come back, a process left stopped, a client stuck with a proxy that lost its session. Repair
walks a ladder and stops at the first rung after which a message goes through again:

1. start every service that is not running, continue every one left stopped (SIGSTOP);
2. restart the shop's client whose own health says it is broken (the consumer, the producer);
3. restart both shop services;
4. restart the RocketMQ proxy, then both shop services.

It refuses while a fault is active: a drill's fault is not breakage, and ``mqdrill recover``
is what takes it back.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bridge.env import faultlog, health, procs, services
from bridge.env.config import EnvConfig
from bridge.errors import EnvironmentError_

Say = Callable[[str], None]
SHOP = ("cartservice", "frontend")


def _quiet(_: str) -> None:
    return None


@dataclass
class RepairReport:
    actions: list[str] = field(default_factory=list)
    healthy: bool = False
    detail: str = ""  # the final round trip, or why it failed

    def to_json(self) -> dict[str, Any]:
        return {"actions": self.actions, "healthy": self.healthy, "detail": self.detail}


def _restart(cfg: EnvConfig, name: str, timeout: float = 90.0) -> None:
    services.stop(cfg, name)
    proc = services.start(cfg, name)
    if not services.wait_port(cfg, name, proc, timeout):
        raise EnvironmentError_(f"{name} did not come back within {timeout:g}s (see {cfg.log_file(name)})")


def _revive(cfg: EnvConfig, report: RepairReport, say: Say) -> None:
    """Rung 1: processes that are gone or stopped."""
    for name in cfg.services:
        proc = services.running(cfg, name)
        if proc is None:
            say(f"starting {name}: it was not running")
            proc = services.start(cfg, name)
            if not services.wait_port(cfg, name, proc, 90.0):
                raise EnvironmentError_(f"{name} did not start within 90s (see {cfg.log_file(name)})")
            report.actions.append(f"started {name} (it was not running)")
        elif procs.state_of(proc.pid) == "T":
            say(f"continuing {name}: it was stopped")
            procs.send(proc, signal.SIGCONT)
            report.actions.append(f"continued {name} (it was stopped with SIGSTOP)")


def _works(cfg: EnvConfig, report: RepairReport, timeout: float) -> bool:
    trip = health.round_trip(cfg, timeout)
    consumer = health.consumer(cfg)
    report.healthy = trip.ok and consumer.ok
    report.detail = (
        f"a message reached the cart in {trip.seconds:.1f}s"
        if report.healthy and trip.seconds is not None
        else (trip.error or f"consumer {consumer.state}: {consumer.error}")
    )
    return report.healthy


def repair(cfg: EnvConfig, *, say: Say = _quiet, timeout: float = 60.0) -> RepairReport:
    """Restart what stayed broken until a message goes through again; what was done, in order."""
    active = faultlog.active_ids(cfg)
    if active:
        raise EnvironmentError_(
            f"faults are active: {', '.join(active)}; take them back first (`mqdrill recover --all`)"
        )
    report = RepairReport()
    _revive(cfg, report, say)
    # a revived service needs its time (a fresh client says "starting" until its first call)
    if _works(cfg, report, timeout if report.actions else 20.0):
        return report
    broken = [c for c in (health.producer(cfg), health.consumer(cfg)) if not c.ok]
    ladder: list[tuple[str, ...]] = []
    owners = {"producer": "frontend", "consumer": "cartservice"}
    named = tuple(owners[c.name] for c in broken)
    if named:
        ladder.append(named)
    ladder.append(SHOP)
    if not cfg.external:
        ladder.append(("proxy", *SHOP))
    why = {c.name: f"{c.state}: {c.error}" for c in broken}
    for rung in ladder:
        for name in rung:
            reason = next((f"its {k} was {v}" for k, v in why.items() if owners[k] == name), "")
            say(f"restarting {name}" + (f" ({reason})" if reason else ""))
            _restart(cfg, name)
            report.actions.append(f"restarted {name}" + (f" ({reason})" if reason else " (the business path failed)"))
        if _works(cfg, report, timeout):
            return report
        why = {}
    return report
