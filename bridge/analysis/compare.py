"""Fault vs baseline for one operation, in the spirit of Kayenta's judge: a test decides whether
a difference is real, an effect-size tolerance decides whether it matters."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bridge.analysis.slo import Tolerance
from bridge.analysis.stats import mann_whitney, percentile, two_proportion_test
from bridge.analysis.windowstats import OpStats, rounded


@dataclass(frozen=True)
class Comparison:
    op: str
    success_worse: bool  # significant and larger than the tolerance
    latency_worse: bool
    figures: dict[str, Any]


def compare(base: OpStats, fault: OpStats, tol: Tolerance) -> Comparison:
    """Is the fault window's success lower, and its latency higher, than the baseline's?"""
    prop = two_proportion_test(base.successes, base.n, fault.successes, fault.n)
    success_worse = prop.p_value < tol.alpha and prop.drop >= tol.success_drop_min
    rank = mann_whitney(base.latencies, fault.latencies)
    base_median = percentile(base.latencies, 50)
    needed = max(tol.latency_shift_abs_ms, tol.latency_shift_rel * base_median) if base.answered else math.inf
    latency_worse = rank.p_value < tol.alpha and not math.isnan(rank.hl_shift) and rank.hl_shift >= needed
    figures = {
        "success": {
            "test": "two-proportion z (one-sided)",
            "baseline": rounded(prop.baseline_ratio),
            "fault": rounded(prop.fault_ratio),
            "drop": rounded(prop.drop),
            "z": rounded(prop.z),
            "p_value": rounded(prop.p_value),
            "tolerance_drop": tol.success_drop_min,
            "significant": success_worse,
        },
        "latency": {
            "test": "Mann-Whitney U (one-sided)",
            "u": rounded(rank.u),
            "z": rounded(rank.z),
            "p_value": rounded(rank.p_value),
            "hodges_lehmann_shift_ms": rounded(rank.hl_shift),
            "tolerance_shift_ms": rounded(needed),
            "n_baseline": rank.n_baseline,
            "n_fault": rank.n_fault,
            "significant": latency_worse,
        },
        "alpha": tol.alpha,
    }
    return Comparison(base.op, success_worse, latency_worse, figures)
