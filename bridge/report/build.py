"""``mqdrill report RUN|SUITE``: execute the report notebook into the directory and render report.html.

A suite's drill reports are made in parallel, one warm kernel per worker thread (the work runs in
the kernels, so threads are enough), then the suite notebook runs on one of those kernels.
"""

from __future__ import annotations

import json
import os
import queue
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bridge.archive import ensure_writable
from bridge.errors import InputError
from bridge.report.execute import WarmKernel, notebooks_dir


@dataclass(frozen=True)
class Report:
    notebook: Path
    html: Path


def _render(nb: Path, title: str) -> Path:
    from bridge.report.render import write_html

    return write_html(nb, nb.with_name("report.html"), title)


def report_run(run: Path, kernel: WarmKernel | None = None) -> Report:
    """Report one run directory (writes verdict.json first when it is missing)."""
    ensure_writable(run)
    own = kernel is None
    k = kernel or WarmKernel()  # started first: it boots while we import and analyse below
    try:
        if not (run / "verdict.json").is_file():
            from bridge.analysis import write_verdict

            write_verdict(run)
        nb = run / "report.ipynb"
        k.execute(notebooks_dir() / "drill_report.ipynb", nb, {"run_dir": str(run.resolve())})
        return Report(nb, _render(nb, f"mqdrill report {run.name}"))
    finally:
        if own:
            k.close()


def analyse_and_report(run: Path) -> Report:
    """What a runner calls when a drill has finished: a fresh verdict.json, then the report."""
    from bridge.analysis import write_verdict

    ensure_writable(run)
    write_verdict(run)
    return report_run(run)


def _suite_runs(suite: Path) -> list[Path]:
    try:
        meta = json.loads((suite / "suite.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{suite / 'suite.json'} cannot be read: {exc}") from exc
    runs = [suite / str(r["run_dir"]) for r in meta.get("runs") or [] if isinstance(r, dict) and "run_dir" in r]
    return [r for r in runs if (r / "run.json").is_file() or (r / "events.jsonl").is_file()]


def report_suite(suite: Path, workers: int | None = None) -> list[Report]:
    """Report every drill of a suite in parallel, then the suite itself."""
    ensure_writable(suite)
    runs = _suite_runs(suite)
    n = max(1, min(workers or len(os.sched_getaffinity(0)), len(runs) or 1))
    kernels: queue.Queue[WarmKernel] = queue.Queue()
    started = [WarmKernel() for _ in range(n)]
    for k in started:
        kernels.put(k)

    def one(run: Path) -> Report:
        k = kernels.get()
        try:
            return report_run(run, k)
        finally:
            kernels.put(k)

    try:
        with ThreadPoolExecutor(max_workers=n) as pool:
            out = list(pool.map(one, runs))
        k = kernels.get()
        nb = suite / "report.ipynb"
        k.execute(notebooks_dir() / "suite_report.ipynb", nb, {"suite_dir": str(suite.resolve())})
        kernels.put(k)
        out.append(Report(nb, _render(nb, f"mqdrill suite report {suite.name}")))
        return out
    finally:
        for k in started:
            k.close()


def report(path: str | Path, workers: int | None = None) -> list[Report]:
    """Report a run or a suite directory."""
    p = Path(path)
    ensure_writable(p)
    if (p / "suite.json").is_file():
        return report_suite(p, workers)
    if p.is_dir() and ((p / "run.json").is_file() or (p / "events.jsonl").is_file()):
        return [report_run(p)]
    raise InputError(f"{p} is neither a run directory (run.json) nor a suite directory (suite.json)")
