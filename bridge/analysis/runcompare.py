"""Two runs of the same drill side by side: did the change between them (a protection switched on,
a new release) turn a strong dependency weak, or a weak one strong?

The fault windows of the two runs are compared with the same tests and tolerances the verdict
uses between baseline and fault (:func:`bridge.analysis.compare.compare`), the earlier run playing
the part of the reference: "after is better" means the earlier run's fault window was
significantly worse than the later one's. Reads run directories only, like the rest of the analysis.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.analysis.analyze import Analysis, analyze
from bridge.analysis.compare import compare
from bridge.analysis.slo import Tolerance
from bridge.errors import InputError

# What the step between two conclusive verdicts means for the team.
STEP_FIX = "fix"  # strong before, weak after: the protection (or change) made it weak
STEP_REGRESSION = "regression"  # weak before, strong after
STEP_SAME = "same"
STEP_UNCLEAR = "unclear"  # one side inconclusive: nothing can be said


@dataclass(frozen=True)
class Side:
    """One run as the comparison shows it."""

    run_dir: str
    run_id: str
    strength: str
    recovered: bool | None
    protection: str  # run.json's protections_on, joined with "+" ("none" when it says nothing)
    fault: dict[str, dict[str, Any]]  # per operation: n, success_ratio, latency p95 in the fault window


@dataclass(frozen=True)
class RunComparison:
    """The verdicts, their figures and the tests of the change, for one (app, dependency)."""

    app: str
    dependency: str
    scenario: str
    channel: str
    before: Side
    after: Side
    step: str
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)  # per operation: success and latency tests
    notes: list[str] = field(default_factory=list)

    @property
    def improved_ops(self) -> list[str]:
        """Operations whose fault window is significantly better after than before."""
        return sorted(op for op, t in self.tests.items() if t["success"]["significant"] or t["latency"]["significant"])

    def sentence(self) -> str:
        """One line a person reads: what changed, and what made the difference."""
        head = f"{self.app} → {self.dependency} ({self.scenario}"
        head += f", {self.channel})" if self.channel else ")"
        verdicts = f"{self.before.strength} → {self.after.strength}"
        if self.step == STEP_FIX:
            cause = f" with protection {self.after.protection!r}" if self.after.protection != "none" else ""
            better = ", ".join(self.improved_ops) or "no operation significantly"
            return f"fix: {head} went {verdicts}{cause}; better in the fault window: {better}"
        if self.step == STEP_REGRESSION:
            return f"regression: {head} went {verdicts}"
        if self.step == STEP_UNCLEAR:
            return f"unclear: {head} {verdicts}: an inconclusive run says nothing about the dependency"
        return f"same: {head} stayed {self.after.strength}"

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "dependency": self.dependency,
            "scenario": self.scenario,
            "channel": self.channel,
            "step": self.step,
            "sentence": self.sentence(),
            "before": _side_json(self.before),
            "after": _side_json(self.after),
            "improved_operations": self.improved_ops,
            "tests": self.tests,
            "notes": list(self.notes),
        }


def step_between(before: str, after: str) -> str:
    """What a change of verdict means: inconclusive on either side makes it unclear."""
    if "inconclusive" in (before, after) or before not in ("strong", "weak") or after not in ("strong", "weak"):
        return STEP_UNCLEAR
    if before == after:
        return STEP_SAME
    return STEP_FIX if before == "strong" else STEP_REGRESSION


def compare_runs(before: str | Path, after: str | Path, tol: Tolerance | None = None) -> RunComparison:
    """Compare two run directories of the same drill (same app, dependency, scenario and channel)."""
    a, b = analyze(before), analyze(after)
    notes = _mismatches(a, b)
    tol = tol or Tolerance()
    tests: dict[str, dict[str, Any]] = {}
    a_fault, b_fault = a.stats.get("fault", {}), b.stats.get("fault", {})
    for op in sorted(set(a_fault) & set(b_fault)):
        # The later run is the reference: "significant" reads "before was worse than after".
        c = compare(b_fault[op], a_fault[op], tol)
        tests[op] = {"success": _renamed(c.figures["success"]), "latency": c.figures["latency"], "alpha": tol.alpha}
    return RunComparison(
        app=a.app,
        dependency=a.dependency,
        scenario=str(a.run.meta.get("scenario") or ""),
        channel=str(a.run.meta.get("channel") or ""),
        before=_side(before, a),
        after=_side(after, b),
        step=step_between(a.decision.strength, b.decision.strength),
        tests=tests,
        notes=notes,
    )


def _side(path: str | Path, an: Analysis) -> Side:
    fault = {
        op: {"n": s.n, "success_ratio": _r(s.success_ratio), "latency_p95_ms": _r(s.p(95))}
        for op, s in sorted(an.stats.get("fault", {}).items())
    }
    return Side(
        run_dir=str(path),
        run_id=an.run.run_id,
        strength=an.decision.strength,
        recovered=an.decision.recovered,
        protection=protection_of(an.run.meta),
        fault=fault,
    )


def protection_of(meta: dict[str, Any]) -> str:
    """The protection a run was made with, as run.json records it (a name, or a list of names)."""
    raw = meta.get("protections_on")
    if isinstance(raw, list):
        names = [str(x) for x in raw if x]
        return "+".join(sorted(names)) if names else "none"
    return str(raw) if raw else "none"


def _mismatches(a: Analysis, b: Analysis) -> list[str]:
    """Refuse runs of different experiments; note differences that weaken the comparison."""
    key = ("app", "dependency", "scenario", "channel")
    ka = tuple(str(a.run.meta.get(k) or "") for k in key)
    kb = tuple(str(b.run.meta.get(k) or "") for k in key)
    if ka != kb:
        raise InputError(
            f"not the same drill: {a.run.run_id} is {'/'.join(ka)}, {b.run.run_id} is {'/'.join(kb)} "
            "(compare runs of one app, dependency, scenario and channel)"
        )
    notes = []
    if a.run.meta.get("causes") != b.run.meta.get("causes"):
        notes.append(f"different trigger causes: {a.run.meta.get('causes')} vs {b.run.meta.get('causes')}")
    if a.run.meta.get("engine") != b.run.meta.get("engine"):
        notes.append(f"different engines: {a.run.meta.get('engine')} vs {b.run.meta.get('engine')}")
    return notes


def _renamed(success: dict[str, Any]) -> dict[str, Any]:
    """The success test's figures named for two runs rather than two windows."""
    out = dict(success)
    out["after"], out["before"] = out.pop("baseline"), out.pop("fault")
    out["gain"] = out.pop("drop")
    return out


def _side_json(s: Side) -> dict[str, Any]:
    return {
        "run_dir": s.run_dir,
        "run_id": s.run_id,
        "strength": s.strength,
        "recovered": s.recovered,
        "protection": s.protection,
        "fault_window": s.fault,
    }


def _r(x: float) -> float | None:
    return None if math.isnan(x) else round(x, 4)


def suite_comparisons(suite_dir: str | Path, tol: Tolerance | None = None) -> list[RunComparison]:
    """Within a suite, each run paired with the earlier run of the same drill (app, dependency,
    scenario, channel, causes) made with other protections: the suite report's before/after section.

    Reads suite.json's run list in order; runs that share nothing are left alone.
    """
    root = Path(suite_dir)
    try:
        entries = json.loads((root / "suite.json").read_text(encoding="utf-8")).get("runs") or []
    except (OSError, ValueError, AttributeError):
        return []
    first: dict[tuple[str, ...], tuple[Path, str]] = {}
    out: list[RunComparison] = []
    for entry in entries:
        run = root / str(entry.get("run_dir", "")) if isinstance(entry, dict) else None
        if run is None or not (run / "run.json").is_file():
            continue
        try:
            meta = json.loads((run / "run.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        key = tuple(str(meta.get(k) or "") for k in ("app", "dependency", "scenario", "channel", "causes"))
        protection = protection_of(meta)
        if key not in first:
            first[key] = (run, protection)
        elif first[key][1] != protection:
            out.append(compare_runs(first[key][0], run, tol))
    return out
