"""Analysis time and peak memory for 1 M and 10 M probe rows, beside a floor in the same run.

For each size a synthetic run (baseline 60 s, fault 30 s, recovery 30 s, two operations) is
written once, then each measurement runs in a fresh interpreter so its peak RSS is its own:

- verdict (csv):     bridge.analysis.analyze + verdict(), reading probe.csv
- verdict (parquet): the same with probe.parquet beside the CSV
- floor polars:      a bare per-second success ratio / p99 aggregation of the CSV with polars
- floor duckdb:      the same in DuckDB (when duckdb is installed; it is not a dependency)
- verdict (csv) @REF: with ``--against REF``, the verdict of the same run by the analysis as it
                      was at git revision REF (its ``bridge/`` exported to a temporary folder), so a
                      change is measured beside its predecessor in the same run, on the same load

The cases are interleaved over the rounds (A B C D, then D C B A, ...), the verdict @REF right after
the current one, so each round gives a pair measured under one load; the ratio to REF is the
median of the rounds' ratios (``ratio_paired_median``; the ratio of the medians is kept as
``ratio_to_against``). The 1-minute load is recorded as each sample starts (``load1_all``), and
the load average before and after the whole run.

Goals: 10 M rows to a full verdict in <= 3 s and <= 1 GiB; a change stays within 1.2x of the
figure before it (``--against``).
Usage: .venv/bin/python bench/analysis_bench.py [--sizes 1000000,10000000] [--repeat 3] [--keep DIR]
       [--against fbb79df]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge.process import run  # noqa: E402

MEASURE = r"""
import json, sys, time
t0 = time.perf_counter()
kind, path = sys.argv[1], sys.argv[2]
if kind == "verdict":
    from bridge.analysis import analyze
    v = analyze(path).verdict()["verdicts"][0]
    result = v["strength"]
elif kind == "floor-polars":
    import polars as pl
    df = pl.read_csv(path + "/probe.csv", columns=["t", "latency_ms", "ok"],
                     schema_overrides={"t": pl.Float64, "latency_ms": pl.Float64, "ok": pl.Int64})
    out = df.group_by(pl.col("t").floor()).agg(pl.col("ok").mean(), pl.col("latency_ms").quantile(0.99))
    result = out.height
elif kind == "floor-duckdb":
    import duckdb
    result = duckdb.sql(
        "select floor(t) s, avg(ok), quantile_cont(latency_ms, 0.99) "
        f"from read_csv('{path}/probe.csv') group by s"
    ).fetchall().__len__()
seconds = time.perf_counter() - t0
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork+exec, so a child would inherit the
# bench parent's peak; the high-water mark belongs to the new address space.
rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print(json.dumps({"seconds": round(seconds, 3), "peak_rss_mib": round(rss, 1), "result": result}))
"""


def make_run(root: Path, rows: int, parquet: bool) -> Path:
    from bridge.analysis.synthetic import DOWN, HEALTHY, Scenario, probe_frame, write_run

    rate = rows / (120.0 * 2)  # 120 s of drill, two operations
    sc = Scenario(rate=rate, fault=[(10.0, HEALTHY), (5.0, DOWN), (15.0, HEALTHY)])
    frame = probe_frame(sc)
    path = write_run(root, sc, probes=frame)
    if parquet:
        frame.write_parquet(path / "probe.parquet")
    return path


REPO = Path(__file__).resolve().parents[1]


def measure(kind: str, path: Path, code: Path = REPO) -> dict[str, object]:
    """One measurement in a fresh interpreter importing ``bridge`` from ``code`` (the checkout, or an export)."""
    env = {"PYTHONPATH": str(code)}
    out = run([sys.executable, "-c", MEASURE, kind, str(path)], timeout=600, cwd=code, env=env)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def export_revision(ref: str, into: Path) -> Path:
    """``bridge/`` as it was at ``ref``, unpacked into ``into`` (git archive: no worktree, no checkout)."""
    into.mkdir(parents=True, exist_ok=True)
    archive = into / "bridge.tar"
    run(["git", "-C", str(REPO), "archive", "--format=tar", "-o", str(archive), ref, "bridge"], timeout=120)
    run(["tar", "-xf", str(archive), "-C", str(into)], timeout=120)
    return into


def interleaved(cases: list[tuple[str, str, Path, Path]], repeat: int) -> dict[str, list[dict[str, object]]]:
    """Every case once per round, A B C .. then .. C B A: a case's repeats are never back to back, and
    reversing every other round gives each case the same mean position, so load that rises or
    falls over the run moves every case alike instead of the ones measured last."""
    samples: dict[str, list[dict[str, object]]] = {label: [] for label, *_ in cases}
    for r in range(repeat):
        for label, kind, path, code in cases if r % 2 == 0 else cases[::-1]:
            load1 = round(os.getloadavg()[0], 2)
            samples[label].append({**measure(kind, path, code), "load1": load1})
    return samples


def has_duckdb() -> bool:
    try:
        import duckdb  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--repeat", type=int, default=4, help="rounds (every case once each); medians are reported")
    ap.add_argument("--keep", type=Path, default=None, help="write the runs here instead of a temp dir")
    ap.add_argument("--against", default=None, help="also measure the analysis at this git revision")
    args = ap.parse_args()
    load_before = [round(x, 2) for x in os.getloadavg()]
    results: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        before = export_revision(args.against, Path(tmp) / "before") if args.against else None
        for rows in (int(s) for s in args.sizes.split(",")):
            csv_run = make_run(base / f"csv-{rows}", rows, parquet=False)
            pq_run = make_run(base / f"parquet-{rows}", rows, parquet=True)
            size_mib = (csv_run / "probe.csv").stat().st_size / 2**20
            cases: list[tuple[str, str, Path, Path]] = [
                ("verdict (csv)", "verdict", csv_run, REPO),
                ("verdict (parquet)", "verdict", pq_run, REPO),
                ("floor polars (csv)", "floor-polars", csv_run, REPO),
            ]
            if before is not None:
                cases.append((f"verdict (csv) @{args.against}", "verdict", csv_run, before))
            if has_duckdb():
                cases.append(("floor duckdb (csv)", "floor-duckdb", csv_run, REPO))
            if before is not None:
                # the two verdicts side by side in every round: a change is judged by its pairs
                cases.insert(1, cases.pop())
            # Freshly written files are still being flushed to disk; reading them then measures the
            # disk, not the analysis. Flush first, then interleave the cases over the repeats so
            # that a burst of other work on the machine hits every case alike.
            os.sync()
            samples = interleaved(cases, args.repeat)
            for label, *_ in cases:
                runs = samples[label]
                secs = [float(str(m["seconds"])) for m in runs]
                peak = max(float(str(m["peak_rss_mib"])) for m in runs)
                row = {
                    "rows": rows,
                    "case": label,
                    "csv_mib": round(size_mib, 1),
                    "seconds": round(statistics.median(secs), 3),
                    "seconds_all": secs,
                    "load1_all": [m["load1"] for m in runs],  # the 1-minute load as each sample started
                    "peak_rss_mib": peak,
                    "result": runs[0]["result"],
                }
                print(
                    f"{rows:>10,} rows  {label:<26} median {row['seconds']:>6.2f} s  {peak:>7.0f} MiB  "
                    f"({row['result']})  all: {secs}  load: {row['load1_all']}",
                    flush=True,
                )
                results.append(row)
            if before is not None:
                now, then = (
                    next(r for r in results if r["rows"] == rows and r["case"] == c)
                    for c in ("verdict (csv)", f"verdict (csv) @{args.against}")
                )
                ratio = round(float(str(now["seconds"])) / float(str(then["seconds"])), 3)
                now["ratio_to_against"] = ratio
                # Each round measured the two one right after the other, so a round's ratio sees one
                # load; the median of the rounds' ratios is the figure the goal is judged by.
                secs_now, secs_then = (
                    [float(str(m["seconds"])) for m in samples[c]]
                    for c in ("verdict (csv)", f"verdict (csv) @{args.against}")
                )
                pairs = [round(a / b, 3) for a, b in zip(secs_now, secs_then, strict=True)]
                now["ratio_paired_all"] = pairs
                now["ratio_paired_median"] = round(statistics.median(pairs), 3)
                print(
                    f"{rows:>10,} rows  verdict now / @{args.against}: {now['ratio_paired_median']:.2f}x, median of "
                    f"the rounds' ratios {pairs} ({ratio:.2f}x of the medians; goal <= 1.2x)",
                    flush=True,
                )
    out = Path(__file__).resolve().parent / "results" / "analysis.json"
    out.write_text(
        json.dumps(
            {
                "bench": "analysis",
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": {
                    "cpus": len(os.sched_getaffinity(0)),
                    "python": platform.python_version(),
                    # other work on the machine skews timings: keep the load beside them
                    "loadavg_before": load_before,
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                },
                "goal": "10 M rows to a full verdict in <= 3 s and <= 1 GiB; within 1.2x of --against",
                "against": args.against,
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
