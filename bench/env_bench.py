"""Benchmark of the embedded environment and the local engine.

Measures, in one fresh environment (own state dir, shifted ports):
  * ``env up`` from nothing to healthy (a message really went through), goal ≤ 60 s on 2 cores;
  * total RSS of its processes once up, goal ≤ 2 GiB;
  * the CPU-seconds each JVM took to get there (a broker start once spun a core for 10 s);
  * per local action kind: inject requested → effect confirmed, and recover requested →
    healthy again (services up and a message round trip done);
  * beside them, their floors measured in the same run: a message round trip on the healthy
    environment (what "healthy again" costs at least) and ``env down``.

Run: ``.venv/bin/python bench/env_bench.py``; writes ``bench/results/env.json``.
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bridge.engines.base import Fault, LocalAction, LocalKind, ParamValue, Plan, Target
from bridge.engines.local import LocalEngine
from bridge.env import EnvConfig, down, message_round_trip, procs, services, status, up
from bridge.env.config import DEFAULT_PORTS, REPO_ROOT

CASES: list[tuple[str, LocalKind, str, dict[str, ParamValue]]] = [
    (
        "toxic latency 300ms (frontend side)",
        "toxic",
        "proxy",
        {"type": "latency", "latency": 300, "client": "frontend"},
    ),
    ("proxy-down (cartservice side)", "proxy-down", "proxy", {"client": "cartservice"}),
    ("pause proxy", "pause", "proxy", {}),
    ("iptables-drop redis", "iptables-drop", "redis", {"direction": "in"}),
    ("cpu-stress 2 workers", "cpu-stress", "broker", {"workers": 2, "load": 100}),
    ("kill cartservice, supervisor 3s", "kill", "cartservice", {"restart_after_s": 3}),
    ("disk-fill broker 95%", "disk-fill", "broker", {"percent": 95}),
    ("kill broker", "kill", "broker", {}),
]


def _offset() -> int:
    for offset in (5000, 6000, 7000):
        if not any(services.port_open(p + offset, 0.2) for p in DEFAULT_PORTS.values()):
            return offset
    raise SystemExit("no free port layout")


def _plan(kind: LocalKind, service: str, params: dict[str, ParamValue]) -> Plan:
    fault = Fault("bench", "bench", kind, service, "local", Target(services=(service,)), 180, params)
    return Plan("local", fault, local=(LocalAction(kind, service, params, 180),))


def _healthy(cfg: EnvConfig) -> None:
    deadline = time.monotonic() + 120
    while not status(cfg)["healthy"]:
        if time.monotonic() > deadline:
            raise SystemExit("environment did not become healthy again")
        time.sleep(0.1)
    message_round_trip(cfg, timeout=120)


def _case(
    engine: LocalEngine, cfg: EnvConfig, kind: LocalKind, service: str, params: dict[str, ParamValue]
) -> dict[str, Any]:
    broker = services.running(cfg, "broker")
    broker_age = time.time() - _started_at(broker.pid) if broker else None
    t0 = time.monotonic()
    handle = engine.inject(_plan(kind, service, params))
    injected = time.monotonic() - t0
    time.sleep(1)
    t1 = time.monotonic()
    engine.recover(handle)
    _healthy(cfg)
    recovered = time.monotonic() - t1
    return {
        "inject_to_confirmed_s": round(injected, 3),
        "recover_to_healthy_s": round(recovered, 3),
        "broker_age_at_inject_s": round(broker_age, 1) if broker_age is not None else None,
    }


def _started_at(pid: int) -> float:
    import os

    ticks = procs.start_time(pid) or 0
    stat = Path("/proc/stat").read_text().splitlines()
    boot = next(float(line.split()[1]) for line in stat if line.startswith("btime"))
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _cpu_s(cfg: EnvConfig, name: str) -> float | None:
    """User plus system CPU-seconds the service's process has used so far (from /proc)."""
    proc = services.running(cfg, name)
    cpu = procs.cpu_seconds(proc.pid) if proc is not None else None
    return round(cpu, 2) if cpu is not None else None


def main() -> int:
    state = Path(tempfile.mkdtemp(prefix="mqdrill-bench-"))
    cfg = EnvConfig(state_dir=state, cache_dir=REPO_ROOT / ".cache", port_offset=_offset())
    results: dict[str, Any] = {
        "machine": {
            "cpus": __import__("os").cpu_count(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
        }
    }
    try:
        t0 = time.monotonic()
        info = up(cfg)
        results["env_up_to_healthy_s"] = round(time.monotonic() - t0, 2)
        results["cpu_s_to_healthy"] = {n: _cpu_s(cfg, n) for n in ("namesrv", "broker", "proxy")}
        time.sleep(3)  # let the JVMs settle before reading memory
        results["total_rss_mib"] = status(cfg)["total_rss_mib"]
        results["rss_mib"] = {n: p["rss_mib"] for n, p in status(cfg)["services"].items()}
        results["floor_message_round_trip_s"] = round(min(message_round_trip(cfg) for _ in range(3)), 3)
        engine = LocalEngine(cfg)
        results["actions"] = {}
        for label, kind, service, params in CASES:
            results["actions"][label] = _case(engine, cfg, kind, service, params)
            print(f"  {label}: {results['actions'][label]}", file=sys.stderr)
        del info
    finally:
        t1 = time.monotonic()
        left = down(cfg)
        results["env_down_s"] = round(time.monotonic() - t1, 2)
        results["left_after_down"] = left
    _print(results)
    out = REPO_ROOT / "bench" / "results" / "env.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {out}")
    return 0


def _print(r: dict[str, Any]) -> None:
    print(f"env up → healthy      {r['env_up_to_healthy_s']:>8.2f} s   (goal ≤ 60 s)")
    print(f"total RSS             {r['total_rss_mib']:>8.1f} MiB (goal ≤ 2048 MiB)")
    print(f"CPU-s to healthy      {r['cpu_s_to_healthy']}")
    print(f"floor: round trip     {r['floor_message_round_trip_s']:>8.3f} s")
    print(f"env down              {r['env_down_s']:>8.2f} s   left: {r['left_after_down'] or 'nothing'}")
    print(f"{'local action':<38} {'inject→confirmed':>17} {'recover→healthy':>16}")
    for label, a in r.get("actions", {}).items():
        print(f"{label:<38} {a['inject_to_confirmed_s']:>15.2f} s {a['recover_to_healthy_s']:>14.2f} s")


if __name__ == "__main__":
    sys.exit(main())
