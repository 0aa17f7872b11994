"""Time to recover: the first second after recovery is confirmed from which the steady-state
hypothesis holds, pooled, over a sustained span (default 5 s) that fits in the recovery window.

Rows are judged on their outcome times: a row counts when its whole outcome interval lies in
the recovery window (bridge.analysis.attribution), in the second its outcome was decided (an
answer, an item seen in the cart, or the probe giving up). So an item that shows only because
its bound is long cannot make the cart look back before the consumer really is, and a request
cut short by the fault's end never counts for the recovery.

Per-second buckets carry additive counts (requests, successes, answered, slow), so a span's
success ratio and its p95 check (p95 <= L exactly when at most 5 % of answered requests are
slower than L) are sums over its buckets: one cumulative sum, no re-sorting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from bridge.analysis.attribution import END
from bridge.analysis.slo import Slo
from bridge.analysis.windows import Window
from bridge.analysis.windowstats import rows_in

SUSTAIN_S = 5


@dataclass(frozen=True)
class Recovery:
    recovered: bool
    time_to_recover_s: float | None
    sustain_s: int
    reason: str


def _bucket_counts(rows: pl.DataFrame, op: str, slo: Slo, start: float, nbuckets: int) -> np.ndarray:
    """Array (4, nbuckets): requests, successes, answered, slow answers per second."""
    vis = slo.is_delay(op)
    slo = slo.for_op(op)  # each operation is judged by its own objective
    at = END if END in rows.columns else "t"
    limit = slo.visibility_s_max * 1000.0 if (vis and slo.visibility_s_max is not None) else None
    lat = pl.col("latency_ms")
    success = (pl.col("ok") > 0) & (lat.fill_null(math.inf) <= limit) if limit is not None else pl.col("ok") > 0
    slow = (lat > slo.latency_p95_ms_max) if not vis else pl.lit(False)
    agg = (
        rows.filter(pl.col("op") == op)
        .with_columns(((pl.col(at) - start).floor().cast(pl.Int64)).alias("b"))
        .group_by("b")
        .agg(
            pl.len().alias("n"),
            success.sum().alias("s"),
            lat.is_not_null().sum().alias("a"),
            slow.fill_null(False).sum().alias("w"),
        )
    )
    out = np.zeros((4, nbuckets), dtype=np.float64)
    b = agg["b"].to_numpy()
    keep = (b >= 0) & (b < nbuckets)
    for i, col in enumerate(("n", "s", "a", "w")):
        out[i, b[keep]] = agg[col].to_numpy()[keep]
    return out


def time_to_recover(
    probes: pl.DataFrame, recovery: Window | None, slo: Slo, ops: list[str], sustain_s: int = SUSTAIN_S
) -> Recovery:
    """Judge recovery on the probe rows of the recovery window."""
    if recovery is None:
        return Recovery(False, None, sustain_s, "recovery was never confirmed, so no recovery window exists")
    nbuckets = int(math.floor(recovery.duration))
    if nbuckets < sustain_s:
        return Recovery(
            False,
            None,
            sustain_s,
            f"the recovery window ({recovery.duration:.1f} s) is shorter than the {sustain_s} s "
            "the objectives must hold for, so recovery could not be shown",
        )
    rows = rows_in(probes, recovery, ("op", "latency_ms", "ok", END if END in probes.columns else "t"))
    ok = np.ones(nbuckets - sustain_s + 1, dtype=bool)
    for op in ops:
        counts = _bucket_counts(rows, op, slo, recovery.start, nbuckets)
        csum = np.concatenate((np.zeros((4, 1)), np.cumsum(counts, axis=1)), axis=1)
        span = csum[:, sustain_s:] - csum[:, :-sustain_s]  # (4, candidates)
        n, s, a, w = span
        with np.errstate(invalid="ignore", divide="ignore"):
            holds = (n > 0) & (s / np.maximum(n, 1) >= slo.for_op(op).success_ratio_min - 1e-12)
            if not slo.is_delay(op):
                holds &= (a == 0) | (w <= 0.05 * a + 1e-9)
        ok &= holds
    first = np.flatnonzero(ok)
    if len(first) == 0:
        return Recovery(
            False,
            None,
            sustain_s,
            f"the objectives never held for {sustain_s} s in a row during the "
            f"{recovery.duration:.0f} s recovery window",
        )
    k = float(first[0])
    return Recovery(
        True,
        k,
        sustain_s,
        f"the objectives held for {sustain_s} s in a row from {k:.0f} s after recovery was confirmed",
    )
