"""Benchmark of `env up` with two broker groups (issue 13), beside one group in the same run.

Goal: two broker groups up (a message really went through) in ≤ 60 s, with ≤ 2.5 GiB RSS in all, on
2 cores. Each environment is fresh (own state dir, shifted ports) and stopped after.

Run: ``.venv/bin/python bench/env_brokers_bench.py``; writes ``bench/results/env_brokers.json``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bridge.env import EnvConfig, down, services, status, up
from bridge.env.config import DEFAULT_PORTS, REPO_ROOT


def _offset() -> int:
    for offset in (5000, 6000, 7000):
        if not any(services.port_open(p + offset, 0.2) for p in DEFAULT_PORTS.values()):
            return offset
    raise SystemExit("no free port layout")


def measure(groups: int) -> dict[str, Any]:
    cache = Path(os.environ.get("MQDRILL_CACHE") or REPO_ROOT / ".cache").resolve()
    with tempfile.TemporaryDirectory(prefix=f"mqdrill-bench-{groups}b-") as state:
        cfg = EnvConfig(state_dir=Path(state), cache_dir=cache, port_offset=_offset(), broker_groups=groups)
        started = time.monotonic()
        try:
            info = up(cfg)
            up_s = time.monotonic() - started
            time.sleep(5)  # RSS once the JVMs have settled, not at their first breath

            rss = status(cfg)["total_rss_mib"]
        finally:
            down(cfg)
    return {"broker_groups": groups, "up_s": round(up_s, 1), "total_rss_mib": rss, "services": list(info["services"])}


def main() -> int:
    load_before = os.getloadavg()
    results = [measure(1), measure(2)]
    two = results[1]
    doc = {
        "benchmark": "env_brokers",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_before": load_before},
        "goal": {"up_s_max": 60, "total_rss_mib_max": 2560},
        "results": results,
        "meets_goal": two["up_s"] <= 60 and two["total_rss_mib"] <= 2560,
        "load_after": os.getloadavg(),
    }
    out = Path(__file__).parent / "results" / "env_brokers.json"
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, indent=2))
    return 0 if doc["meets_goal"] else 1


if __name__ == "__main__":
    sys.exit(main())
