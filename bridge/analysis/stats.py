"""Statistics for the judge, in plain numpy (no scipy: it would double the kernel's import time).

Every function takes *sorted* float arrays where order matters, so callers sort once and the
results never depend on the order rows arrived in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

# Hodges-Lehmann needs all pairwise differences (n*m); above this many pairs both samples are
# summarised by evenly spaced order statistics, which keeps the estimate order-independent.
_HL_MAX_SIDE = 1500


def normal_sf(z: float) -> float:
    """Upper tail of the standard normal distribution."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def wilson(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion; (0, 1) when there is no sample."""
    if n <= 0:
        return (0.0, 1.0)
    z = _z_for(confidence)
    p = successes / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _z_for(confidence: float) -> float:
    # Inverse of the two-sided normal tail by bisection: only a handful of levels are used.
    target = (1.0 - confidence) / 2.0
    lo, hi = 0.0, 10.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if normal_sf(mid) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@dataclass(frozen=True)
class ProportionTest:
    """One-sided two-proportion z-test: is the fault window's success ratio lower than the baseline's?"""

    baseline_ratio: float
    fault_ratio: float
    drop: float
    z: float
    p_value: float


def two_proportion_test(base_ok: int, base_n: int, fault_ok: int, fault_n: int) -> ProportionTest:
    """Pooled two-proportion z-test, one-sided (fault < baseline)."""
    if base_n == 0 or fault_n == 0:
        return ProportionTest(math.nan, math.nan, math.nan, 0.0, 1.0)
    p1, p2 = base_ok / base_n, fault_ok / fault_n
    pooled = (base_ok + fault_ok) / (base_n + fault_n)
    se = math.sqrt(pooled * (1 - pooled) * (1 / base_n + 1 / fault_n))
    if se == 0.0:
        # Both windows all-success or all-failure: no evidence of a difference.
        return ProportionTest(p1, p2, p1 - p2, 0.0, 1.0)
    z = (p1 - p2) / se
    return ProportionTest(p1, p2, p1 - p2, z, normal_sf(z))


@dataclass(frozen=True)
class RankTest:
    """One-sided Mann-Whitney U (fault slower than baseline) with the Hodges-Lehmann shift."""

    u: float
    z: float
    p_value: float
    hl_shift: float
    n_baseline: int
    n_fault: int


def mann_whitney(base_sorted: FloatArray, fault_sorted: FloatArray) -> RankTest:
    """Mann-Whitney U with the normal approximation and tie correction.

    U counts, over all (fault, baseline) pairs, fault > baseline plus half the ties; it is
    computed with binary searches on the sorted samples (O(m log n)), never with n*m pairs.
    """
    n, m = len(base_sorted), len(fault_sorted)
    if n == 0 or m == 0:
        return RankTest(math.nan, 0.0, 1.0, math.nan, n, m)
    left = np.searchsorted(base_sorted, fault_sorted, side="left")
    right = np.searchsorted(base_sorted, fault_sorted, side="right")
    u = float(left.sum(dtype=np.float64) + 0.5 * (right - left).sum(dtype=np.float64))
    mean = n * m / 2.0
    total = n + m
    tie_term = _tie_term(base_sorted, fault_sorted)
    var = n * m / 12.0 * ((total + 1) - tie_term / (total * (total - 1))) if total > 1 else 0.0
    if var <= 0:
        z, p = 0.0, 1.0
    else:
        z = (u - mean - 0.5) / math.sqrt(var)  # continuity correction
        p = normal_sf(z)
    return RankTest(u, z, p, hodges_lehmann(base_sorted, fault_sorted), n, m)


def _tie_term(a: FloatArray, b: FloatArray) -> float:
    # A stable sort of two sorted runs is a linear merge (timsort finds the runs).
    merged = np.sort(np.concatenate((a, b)), kind="stable")
    if len(merged) < 2:
        return 0.0
    edges = np.flatnonzero(np.diff(merged)) + 1
    counts = np.diff(np.concatenate(([0], edges, [len(merged)]))).astype(np.float64)
    return float((counts**3 - counts).sum())


def _summarise(sorted_values: FloatArray) -> FloatArray:
    if len(sorted_values) <= _HL_MAX_SIDE:
        return sorted_values
    idx = np.linspace(0, len(sorted_values) - 1, _HL_MAX_SIDE).round().astype(np.int64)
    return sorted_values[idx]


def hodges_lehmann(base_sorted: FloatArray, fault_sorted: FloatArray) -> float:
    """Median of all pairwise differences fault - baseline (summarised for large samples)."""
    if len(base_sorted) == 0 or len(fault_sorted) == 0:
        return math.nan
    a, b = _summarise(base_sorted), _summarise(fault_sorted)
    return float(np.median(np.subtract.outer(b, a)))


def percentile(sorted_values: FloatArray, q: float) -> float:
    """Percentile of a sorted sample (inverted CDF: an observed value, so p95 <= L exactly when at
    most 5 % of the values exceed L); NaN when empty."""
    if len(sorted_values) == 0:
        return math.nan
    return float(np.percentile(sorted_values, q, method="inverted_cdf"))
