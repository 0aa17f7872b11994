"""Benchmark of the drill runner, beside its peer in the same run.

Measures on the embedded environment (started here in its own state dir, shifted ports):
  * the runner's overhead per drill: wall time of `mqdrill run` minus the configured windows
    (goal ≤ 1.5 s), without and with the analysis + HTML report;
  * Chaos Toolkit's `chaos run` of an equivalent experiment: the same steady-state HTTP probe and
    the same fault (SIGSTOP of the broker, SIGCONT in the rollback) through process actions, with
    the same pauses; its overhead is wall time minus the pauses;
  * start-up: `mqdrill --help` (goal ≤ 0.5 s) beside `chaos --help`.

Run: ``.venv/bin/python bench/runner_bench.py [--repeat N]``; writes ``bench/results/runner.json``.
The probe's accuracy at 100/500/1,000 req/s is measured by bench/probe_bench.py.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bridge.env import EnvConfig, down, services, up
from bridge.env.config import DEFAULT_PORTS, REPO_ROOT

WINDOWS = (3.0, 5.0, 3.0)  # baseline, fault, recovery
VENV = REPO_ROOT / ".venv" / "bin"


def _free_offset() -> int:
    for offset in (5000, 6000, 7000):
        if not any(services.port_open(p + offset, 0.2) for p in DEFAULT_PORTS.values()):
            return offset
    raise SystemExit("no free port layout")


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env={**os.environ, **env}, timeout=600)
    return time.perf_counter() - start, done


def mqdrill_run(cfg: EnvConfig, tmp: Path, env: dict[str, str], *, report: bool, n: int) -> float:
    b, f, r = WINDOWS
    argv = [
        str(VENV / "mqdrill"),
        "run",
        "--scenario",
        "broker-unavailable",
        "--cause",
        "process-pause",
        "--baseline",
        f"{b:g}s",
        "--fault",
        f"{f:g}s",
        "--recovery",
        f"{r:g}s",
        "--json",
        "--out",
        str(tmp / f"run-{'r' if report else 'n'}-{n}"),
    ]
    drill = tmp / "drill.yaml"
    drill.write_text(
        "apiVersion: mqdrill/v1\nkind: Drill\nscenario: broker-unavailable\ncauses: [process-pause]\n"
        f"steady_state: {{probe: {{frontend_url: '{cfg.url('frontend')}'}}}}\n"
    )
    argv = [argv[0], "run", str(drill), *argv[6:]]
    if not report:
        argv.append("--no-report")
    wall, done = _timed(argv, env)
    if done.returncode != 0:
        raise SystemExit(f"mqdrill run failed: {done.stderr[-500:]}")
    return wall - sum(WINDOWS)


def chaostoolkit_experiment(cfg: EnvConfig, broker_pid: int) -> dict[str, Any]:
    b, f, r = WINDOWS
    probe = {
        "type": "probe",
        "name": "cart-add-works",
        "tolerance": 200,
        "provider": {"type": "http", "url": f"{cfg.url('frontend')}/cart?user_id=bench", "timeout": 2},
    }
    return {
        "version": "1.0.0",
        "title": "broker paused",
        "description": "SIGSTOP of the broker, like mqdrill's",
        "steady-state-hypothesis": {"title": "the shop answers", "probes": [probe]},
        "method": [
            {
                "type": "action",
                "name": "pause-broker",
                "provider": {"type": "process", "path": "kill", "arguments": f"-STOP {broker_pid}"},
                "pauses": {"before": b, "after": f},
            },
        ],
        "rollbacks": [
            {
                "type": "action",
                "name": "resume-broker",
                "provider": {"type": "process", "path": "kill", "arguments": f"-CONT {broker_pid}"},
                "pauses": {"after": r},
            },
        ],
    }


def chaos_run(cfg: EnvConfig, tmp: Path, n: int) -> float:
    proc = services.running(cfg, "broker")
    assert proc is not None
    path = tmp / f"experiment-{n}.json"
    path.write_text(json.dumps(chaostoolkit_experiment(cfg, proc.pid)))
    wall, done = _timed(
        [
            str(VENV / "chaos"),
            "--no-log-file",
            "run",
            "--rollback-strategy=always",
            "--journal-path",
            str(tmp / f"journal-{n}.json"),
            str(path),
        ],
        {},
    )
    if done.returncode != 0:
        raise SystemExit(f"chaos run failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    return wall - sum(WINDOWS)


def startup(argv: list[str], n: int = 5) -> float:
    times = [_timed(argv, {})[0] for _ in range(n)]
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mqdrill-bench-") as name:
        tmp = Path(name)
        cfg = EnvConfig(state_dir=tmp / "env", cache_dir=REPO_ROOT / ".cache", port_offset=_free_offset())
        env = {
            "MQDRILL_STATE": str(cfg.state_dir),
            "MQDRILL_LEDGER": str(tmp / "ledger"),
            "MQDRILL_REPORTS": str(tmp / "reports"),
        }
        up(cfg)
        try:
            rows = {
                "mqdrill run --no-report": [mqdrill_run(cfg, tmp, env, report=False, n=i) for i in range(args.repeat)],
                "mqdrill run (with report)": [mqdrill_run(cfg, tmp, env, report=True, n=i) for i in range(args.repeat)],
                "chaos run (equivalent)": [chaos_run(cfg, tmp, i) for i in range(args.repeat)],
            }
        finally:
            down(cfg)
    start = {
        "mqdrill --help": startup([str(VENV / "mqdrill"), "--help"]),
        "chaos --help": startup([str(VENV / "chaos"), "--help"]),
    }
    print(f"{'overhead per drill (wall - windows)':40} {'median s':>9} {'min s':>7} {'max s':>7}")
    for label, values in rows.items():
        print(f"{label:40} {statistics.median(values):9.2f} {min(values):7.2f} {max(values):7.2f}")
    for label, value in start.items():
        print(f"{label:40} {value:9.3f}")
    result = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "windows_s": WINDOWS,
        "overhead_s": {k: {"median": statistics.median(v), "all": v} for k, v in rows.items()},
        "startup_s": start,
        "goals": {"overhead_s": 1.5, "help_s": 0.5},
    }
    out = REPO_ROOT / "bench" / "results" / "runner.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
