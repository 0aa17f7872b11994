"""Benchmark of `mqdrill suite`: wall time against the sum of the configured windows (the floor),
serially and in parallel, on the embedded environment (started here, own state dir, shifted ports).

The suite has four drills on four different components (broker, name server, proxy, cart
consumer), so with --parallel 2 the longest chain of overlapping drills is two drills long: the
parallel floor is half the serial one. Goals: serial overhead ≤ 5 % of the windows plus report
time; parallel close to the longest chain.

Run: ``.venv/bin/python bench/suite_bench.py``; writes ``bench/results/suite.json``.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bridge.env import EnvConfig, down, services, up
from bridge.env.config import DEFAULT_PORTS, REPO_ROOT

WINDOWS = {"baseline": 5, "fault": 10, "recovery": 10}
DRILLS = [
    ("broker-unavailable", "process-pause"),
    ("namesrv-unavailable", "pod-failure"),
    ("proxy-unavailable", "pod-failure"),
    ("consumer-backlog", "process-pause"),
]


def _free_offset() -> int:
    for offset in (5000, 6000, 7000):
        if not any(services.port_open(p + offset, 0.2) for p in DEFAULT_PORTS.values()):
            return offset
    raise SystemExit("no free port layout")


def write_suite(path: Path, frontend_url: str) -> None:
    drills = [
        {
            "drill": {
                "apiVersion": "mqdrill/v1",
                "kind": "Drill",
                "name": f"{s}-{c}",
                "scenario": s,
                "causes": [c],
                # the http channel: this bench measures the suite's overhead, and a drill must not
                # inherit the previous drill's RocketMQ route recovery as a failed preflight
                "channel": "http",
                "steady_state": {"probe": {"frontend_url": frontend_url}},
            }
        }
        for s, c in DRILLS
    ]
    path.write_text(
        yaml.safe_dump(
            {"apiVersion": "mqdrill/v1", "kind": "Suite", "name": "bench", "windows": WINDOWS, "drills": drills}
        )
    )


def run(suite: Path, out: Path, env: dict[str, str], *extra: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "mqdrill"), "suite", str(suite), "--out", str(out), "--json", *extra],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=1800,
    )
    wall = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"suite failed ({done.returncode}): {done.stderr[-800:]} {done.stdout[-3000:]}")
    return wall


def main() -> None:
    floor_serial = sum(WINDOWS.values()) * len(DRILLS)
    floor_parallel = sum(WINDOWS.values()) * 2  # two chains of two drills
    with tempfile.TemporaryDirectory(prefix="mqdrill-suite-bench-") as name:
        tmp = Path(name)
        cfg = EnvConfig(state_dir=tmp / "env", cache_dir=REPO_ROOT / ".cache", port_offset=_free_offset())
        env = {
            "MQDRILL_STATE": str(cfg.state_dir),
            "MQDRILL_LEDGER": str(tmp / "ledger"),
            "MQDRILL_REPORTS": str(tmp / "reports"),
        }
        up(cfg)
        try:
            suite = tmp / "suite.yaml"
            write_suite(suite, cfg.url("frontend"))
            serial_no_report = run(suite, tmp / "s1", env, "--no-report")
            serial = run(suite, tmp / "s2", env)
            parallel = run(suite, tmp / "p1", env, "--parallel", "2", "--no-report")
        finally:
            down(cfg)
    rows = {
        "serial, no reports": (serial_no_report, floor_serial),
        "serial, with reports": (serial, floor_serial),
        "parallel 2, no reports": (parallel, floor_parallel),
    }
    print(f"{'suite of 4 drills':28} {'wall s':>8} {'floor s':>8} {'overhead':>9}")
    for label, (wall, floor) in rows.items():
        print(f"{label:28} {wall:8.1f} {floor:8.1f} {100 * (wall - floor) / floor:8.1f}%")
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "windows": WINDOWS,
        "drills": DRILLS,
        "runs": {k: {"wall_s": w, "floor_s": f, "overhead_pct": 100 * (w - f) / f} for k, (w, f) in rows.items()},
        "report_time_s": serial - serial_no_report,
    }
    out = REPO_ROOT / "bench" / "results" / "suite.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
