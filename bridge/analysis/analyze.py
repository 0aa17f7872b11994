"""One call from a run directory to its verdict: read, find windows, measure, compare, decide."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from bridge.analysis import machine
from bridge.analysis.attribution import END, START, Bounds, bounds_from_meta, inside, straddling, with_outcome
from bridge.analysis.compare import Comparison, compare
from bridge.analysis.judge import Decision, decide
from bridge.analysis.metrics import consume_figures
from bridge.analysis.recovery import Recovery, time_to_recover
from bridge.analysis.rundir import RunData, read_run
from bridge.analysis.signatures import changed_signatures
from bridge.analysis.slo import Slo, Tolerance, slo_from_meta
from bridge.analysis.tolerances import Judging, judging_from_meta
from bridge.analysis.windows import Windows, find_windows
from bridge.analysis.windowstats import OpStats, window_stats
from bridge.timefmt import epoch

VERDICT_SCHEMA = "mqdrill.verdict/v1"


@dataclass
class Analysis:
    """Everything the verdict and the report are built from."""

    run: RunData
    slo: Slo
    windows: Windows
    ops: list[str]
    stats: dict[str, dict[str, OpStats]]
    comparisons: dict[str, Comparison]
    recovery: Recovery
    decision: Decision
    judging: Judging = field(default_factory=lambda: Judging(Tolerance()))
    bounds: Bounds = field(default_factory=Bounds)
    straddling: dict[str, int] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    consume: dict[str, Any] = field(default_factory=dict)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    observed_impact: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def app(self) -> str:
        return str(self.run.meta.get("app") or "unknown")

    @property
    def dependency(self) -> str:
        return str(self.run.meta.get("dependency") or self.run.meta.get("component") or "unknown")

    @property
    def expected(self) -> str:
        e = self.run.meta.get("expected")
        return e if e in ("strong", "weak") else "unknown"

    def verdict(self) -> dict[str, Any]:
        """The verdict.json document (schema mqdrill.verdict/v1)."""
        strength = self.decision.strength
        matches = None
        if self.expected != "unknown" and strength != "inconclusive":
            matches = strength == self.expected
        entry = {
            "app": self.app,
            "dependency": self.dependency,
            "strength": strength,
            "recovered": self.decision.recovered,
            "expected": self.expected,
            "matches_expected": matches,
            "reasons": list(self.decision.reasons),
            "evidence": self.evidence(),
        }
        return {"schema": VERDICT_SCHEMA, "run_id": self.run.run_id, "verdicts": [entry]}

    def evidence(self) -> dict[str, Any]:
        w = self.windows
        return {
            "windows": {x.name: {"start": x.start, "end": x.end, "duration_s": round(x.duration, 3)} for x in w.all()},
            "slo": self.slo.as_dict(),
            "tolerances": self.judging.as_dict(),
            "attribution": {
                "rule": "a row belongs to the window its whole outcome interval lies in (docs/analysis.md)",
                **self.bounds.as_dict(),
            },
            "straddling_rows": dict(self.straddling),
            **self.machine,
            "per_window": {name: {op: s.summary() for op, s in per.items()} for name, per in self.stats.items()},
            "comparison": {op: c.figures for op, c in sorted(self.comparisons.items())},
            "recovery": {
                "recovered": self.recovery.recovered,
                "time_to_recover_s": self.recovery.time_to_recover_s,
                "sustain_s": self.recovery.sustain_s,
                "detail": self.recovery.reason,
            },
            "consume": self.consume,
            "error_signatures": self.signatures,
            "impact": {"predicted": self.run.meta.get("predicted_impact"), "observed": self.observed_impact},
            "notes": self.run.notes + self.problems,
        }


def analyze_data(run: RunData, tol: Tolerance | None = None) -> Analysis:
    """Analyse already-read run data (the notebooks and tests call this; nothing is written).

    ``tol`` overrides the tolerances run.json carries (the drill's ``tolerances``)."""
    problems: list[str] = []
    judging = judging_from_meta(run.meta, problems)
    if tol is not None:
        judging = replace(judging, tolerance=tol)
    tol = judging.tolerance
    slo = slo_from_meta(run.meta, problems)
    if judging.min_samples is not None:
        slo = replace(slo, min_samples=judging.min_samples)
    bounds = bounds_from_meta(run.meta, slo, problems)
    last_t = float(run.probes["t"].max()) if run.probes.height else None  # type: ignore[arg-type]
    w = find_windows(run.events, ended_at=epoch(run.meta.get("ended_at")), last_probe_t=last_t)
    # Only what the windows' figures read (zero-copy): each window's filter then copies 5 columns, not 8.
    probes = with_outcome(run.probes, bounds).select("op", "latency_ms", "ok", START, END)
    n_in_span, ops = _judged(probes, w)
    stats = {x.name: window_stats(probes, x, slo, ops) for x in w.all()}
    stats.setdefault("baseline", {})
    comparisons = {
        op: compare(stats["baseline"][op], stats["fault"][op], tol)
        for op in ops
        if "fault" in stats and op in stats["baseline"]
    }
    recovery = time_to_recover(probes, w.recovery, slo, ops)
    decision = decide(w, run.meta, n_in_span, slo, stats, comparisons, recovery)
    timed = w.all() + ([w.warmup] if w.warmup is not None else [])
    late, load = machine.lateness(run.probes, timed), machine.host_load(run.metrics, timed)
    broke = any(s.violations for s in stats["baseline"].values())
    decision = machine.overrule(decision, late, load, lateness_ms_max=judging.lateness_ms_max, baseline_broke=broke)
    return Analysis(
        run,
        slo,
        w,
        ops,
        stats,
        comparisons,
        recovery,
        decision,
        judging=judging,
        bounds=bounds,
        straddling=straddling(probes, w),
        machine=machine.evidence(late, load, w),
        consume=consume_figures(run.metrics, w),
        signatures=changed_signatures(run.signatures, w.baseline, w.fault),
        observed_impact=observed_impact(stats),
        problems=problems + w.problems,
    )


def _judged(probes: pl.DataFrame, w: Windows) -> tuple[int, list[str]]:
    """Rows in any window, and the operations judged: those probed in the baseline or fault window
    (one seen only during recovery cannot be compared with anything and must not block the verdict)."""
    if probes.height == 0:
        return 0, []
    any_window = pl.lit(False)
    compared = pl.lit(False)
    for x in w.all():
        any_window = any_window | inside(x)
        if x.name in ("baseline", "fault"):
            compared = compared | inside(x)
    row = probes.select(
        any_window.sum().alias("n"), pl.col("op").filter(compared).unique().cast(pl.String).implode().alias("ops")
    ).row(0, named=True)
    return int(row["n"]), sorted(str(x) for x in row["ops"] if x is not None)


def observed_impact(stats: dict[str, dict[str, OpStats]]) -> list[str]:
    """One sentence per operation: baseline figure -> fault figure."""
    base, fault = stats.get("baseline", {}), stats.get("fault", {})
    out = []
    for op in sorted(fault):
        b, f = base.get(op), fault[op]
        if b is None or b.n == 0 or f.n == 0:
            continue
        what = "visible in time" if f.visibility else "success"
        s = f"{op}: {what} {b.success_ratio:.1%} -> {f.success_ratio:.1%}"
        if f.answered and b.answered:
            unit = "visibility delay p95" if f.visibility else "p95 latency"
            s += f"; {unit} {b.p(95):.0f} ms -> {f.p(95):.0f} ms"
        elif not f.answered:
            s += "; no request was answered"
        out.append(s)
    return out


def analyze(path: str | Path, tol: Tolerance | None = None) -> Analysis:
    """Read and analyse a run directory without writing anything."""
    return analyze_data(read_run(path), tol)


def write_verdict(path: str | Path, analysis: Analysis | None = None) -> dict[str, Any]:
    """Analyse ``path`` and write ``verdict.json`` atomically; return the document."""
    doc: dict[str, Any] = _clean((analysis or analyze(path)).verdict())
    target = Path(path) / "verdict.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return doc


def _clean(obj: Any) -> Any:
    """Replace NaN/inf (not JSON) with null, recursively."""
    if isinstance(obj, float):
        return None if math.isnan(obj) or math.isinf(obj) else obj
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    return obj
