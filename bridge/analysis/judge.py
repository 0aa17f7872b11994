"""The verdict, exactly as DESIGN.md's semantics say: strong, weak or inconclusive, and recovered.

Order of the rules:
1. inconclusive when the record cannot support a decision: no probe rows, no baseline window,
   the fault never confirmed (or an injection failed), the drill aborted or stopped before the
   fault window ended, the baseline itself violating the hypothesis, or too few samples in the
   baseline or fault window for some operation;
2. strong when the fault window violates the hypothesis and, for a violated objective, the
   difference from the baseline is significant and larger than the tolerance;
3. inconclusive when the fault window violates the hypothesis but no violated objective differs
   significantly from the baseline (never guess);
4. weak otherwise: the hypothesis held during the fault with enough samples to have seen a
   violation.
``recovered`` is then judged for strong and weak alike (None for inconclusive).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.analysis.compare import Comparison
from bridge.analysis.recovery import Recovery
from bridge.analysis.slo import Slo
from bridge.analysis.windows import Windows
from bridge.analysis.windowstats import OpStats


@dataclass(frozen=True)
class Decision:
    strength: str
    recovered: bool | None
    reasons: list[str]


def record_problems(w: Windows, meta: dict[str, Any], n_rows: int) -> list[str]:
    """Reasons the record cannot support a verdict at all."""
    out: list[str] = []
    if n_rows == 0:
        out.append("No probe request could be read, so the steady state was never measured.")
    aborted_early = w.aborted_at is not None and (w.fault is None or w.fault_cut_short)
    if aborted_early:
        out.append(f"The drill was aborted before the fault window ended ({w.abort_reason}).")
    elif meta.get("status") == "aborted" and (w.fault is None or w.fault_cut_short):
        out.append("The drill was aborted before the fault window ended.")
    if w.inject_failed:
        out.append("An injection failed, so the fault was not (fully) in place.")
    elif w.inject_confirmed is None and not aborted_early:
        out.append("The fault was never confirmed injected.")
    stopped_mid_fault = (w.fault is not None and w.fault_cut_short) or (
        w.fault is None and w.inject_confirmed is not None
    )
    if stopped_mid_fault and not aborted_early:
        out.append("The run stopped before the fault window ended (no recover event was recorded).")
    if w.baseline is None:
        out.append("No baseline window was recorded, so there is nothing to compare the fault with.")
    return out


def sample_problems(stats: dict[str, dict[str, OpStats]], slo: Slo) -> list[str]:
    out = []
    for window in ("baseline", "fault"):
        for op, s in sorted(stats.get(window, {}).items()):
            need = slo.for_op(op).required_samples  # per operation: each has its own objective
            if s.n < need:
                out.append(
                    f"Too few samples: {op} had {s.n} request(s) in the {window} window; "
                    f"at least {need} are needed to have seen a violation of the objectives."
                )
    return out


def decide(
    w: Windows,
    meta: dict[str, Any],
    n_rows: int,
    slo: Slo,
    stats: dict[str, dict[str, OpStats]],
    comparisons: dict[str, Comparison],
    recovery: Recovery,
) -> Decision:
    """Apply the rules in order; reasons are plain sentences for the report."""
    blockers = record_problems(w, meta, n_rows)
    if not blockers:
        base_bad = [v for s in stats["baseline"].values() for v in s.violations]
        if base_bad:
            blockers.append(
                "The baseline itself violates the steady state ("
                + "; ".join(base_bad)
                + "), so the fault's effect cannot be told apart."
            )
        blockers += sample_problems(stats, slo)
    if blockers:
        return Decision("inconclusive", None, blockers)
    violated = {op: s for op, s in stats["fault"].items() if s.violations}
    if not violated:
        reasons = ["The steady state held during the fault window with enough samples to have seen a violation."]
        reasons += _noted_shifts(comparisons)
        return Decision("weak", recovery.recovered, reasons + [_recovery_sentence(recovery)])
    significant, unproven = [], []
    for op, s in sorted(violated.items()):
        c = comparisons[op]
        success_bad = any("below the objective" in v for v in s.violations)
        latency_bad = any("latency" in v for v in s.violations)
        if (success_bad and c.success_worse) or (latency_bad and c.latency_worse):
            significant.extend(s.violations)
            significant.append(_test_sentence(c, success_bad and c.success_worse, latency_bad and c.latency_worse))
        else:
            unproven.extend(s.violations)
    if significant:
        reasons = ["The steady state was violated during the fault window: " + significant[0] + "."]
        reasons += [x if x.endswith(".") else x + "." for x in significant[1:]]
        return Decision("strong", recovery.recovered, reasons + [_recovery_sentence(recovery)])
    return Decision(
        "inconclusive",
        None,
        [
            "The steady state was violated during the fault window (" + "; ".join(unproven) + "), but the "
            "difference from the baseline is not significant beyond the tolerance; more samples are needed."
        ],
    )


def _test_sentence(c: Comparison, success: bool, latency: bool) -> str:
    parts = []
    if success:
        f = c.figures["success"]
        parts.append(f"{c.op} success fell by {f['drop']:.2%} against the baseline ({_p(f['p_value'])})")
    if latency:
        f = c.figures["latency"]
        parts.append(
            f"{c.op} latency shifted by {f['hodges_lehmann_shift_ms']:.0f} ms (Hodges-Lehmann, "
            f"Mann-Whitney {_p(f['p_value'])})"
        )
    return "The difference from the baseline is significant: " + " and ".join(parts) + "."


def _p(p: float) -> str:
    return "p < 1e-6" if p < 1e-6 else f"p = {p:.2g}"


def _noted_shifts(comparisons: dict[str, Comparison]) -> list[str]:
    out = []
    for op, c in sorted(comparisons.items()):
        if c.latency_worse:
            f = c.figures["latency"]
            out.append(
                f"{op} latency rose significantly (by {f['hodges_lehmann_shift_ms']:.0f} ms) but stayed "
                "within the objectives: a degradation, not a break."
            )
        if c.success_worse:
            f = c.figures["success"]
            out.append(f"{op} success fell significantly (by {f['drop']:.2%}) but stayed within the objectives.")
    return out


def _recovery_sentence(r: Recovery) -> str:
    head = "It recovered: " if r.recovered else "It did not recover: "
    return head + r.reason + "."
