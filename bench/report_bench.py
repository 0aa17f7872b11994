"""Report time: one drill (papermill + HTML, as ``mqdrill report RUN`` does it, in a fresh
process) and a suite of 20 drill reports in parallel, beside the naive way in the same run.

- drill: ``mqdrill report RUN`` end to end (CLI start, warm kernel started first, in-process HTML),
  repeated; goal <= 3 s median on 2 cores.
- floor: ``papermill`` CLI on the same notebook, then ``jupyter nbconvert --to html``, as separate
  commands (the naive way the issue measured at ~5 s).
- suite: ``mqdrill report SUITE`` with 20 drills; goal <= 30 s on 2 cores (~100 s naively).

Usage: .venv/bin/python bench/report_bench.py [--repeat 5] [--drills 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bridge.analysis.synthetic import HEALTHY, Profile, Scenario, write_run  # noqa: E402
from bridge.process import run  # noqa: E402

BIN = Path(sys.executable).parent


def timed(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    run(argv, timeout=600, env=env, cwd=ROOT)
    return time.perf_counter() - start


def make_suite(root: Path, drills: int) -> Path:
    kinds = [
        Scenario(backlog=True, signatures=True),
        Scenario(fault=[(30.0, HEALTHY)], expected="weak"),
        Scenario(fault=[(30.0, Profile(latency_ms=900.0))]),
        Scenario(inject="failed"),
    ]
    runs = []
    for i in range(drills):
        write_run(root / f"d{i:02d}", kinds[i % len(kinds)])
        runs.append({"drill": f"d{i:02d}", "run_dir": f"d{i:02d}", "status": "completed"})
    (root / "suite.json").write_text(
        json.dumps(
            {
                "schema": "mqdrill.suite/v1",
                "suite_id": root.name,
                "name": "bench",
                "started_at": 0,
                "ended_at": 1,
                "status": "completed",
                "runs": runs,
            }
        )
    )
    return root


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--drills", type=int, default=20)
    args = ap.parse_args()
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory() as tmp:
        env = {"MQDRILL_REPORTS": str(Path(tmp) / "reports"), "MQDRILL_ARCHIVE": str(Path(tmp) / "archive")}
        drill = write_run(Path(tmp) / "drill", Scenario(backlog=True, signatures=True))
        per_drill = [timed([str(BIN / "mqdrill"), "report", str(drill)], env) for _ in range(args.repeat)]
        print(
            f"drill report (mqdrill report):   median {statistics.median(per_drill):.2f} s  {per_drill}",
            flush=True,
        )
        nb = drill / "naive.ipynb"
        floor = []
        for _ in range(min(3, args.repeat)):
            a = timed(
                [
                    str(BIN / "papermill"),
                    "--no-progress-bar",
                    str(ROOT / "notebooks" / "drill_report.ipynb"),
                    str(nb),
                    "-p",
                    "run_dir",
                    str(drill),
                ],
                env,
            )
            b = timed([str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input", str(nb)], env)
            floor.append(a + b)
        print(f"naive papermill + nbconvert CLI: median {statistics.median(floor):.2f} s  {floor}", flush=True)
        suite = make_suite(Path(tmp) / "suite", args.drills)
        suite_s = timed([str(BIN / "mqdrill"), "report", str(suite)], env)
        print(f"suite of {args.drills} drill reports + suite report: {suite_s:.2f} s", flush=True)
    out = ROOT / "bench" / "results" / "report.json"
    out.write_text(
        json.dumps(
            {
                "bench": "report",
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": {
                    "cpus": len(os.sched_getaffinity(0)),
                    "loadavg_before": load_before,
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                },
                "goals": {"drill_median_s": 3.0, "suite_20_s": 30.0},
                "drill_report_s": [round(x, 3) for x in per_drill],
                "drill_median_s": round(statistics.median(per_drill), 3),
                "naive_floor_s": [round(x, 3) for x in floor],
                "naive_median_s": round(statistics.median(floor), 3),
                "suite_drills": args.drills,
                "suite_s": round(suite_s, 3),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
