"""Per window and per operation: success ratio with its Wilson interval, latency percentiles over
answered requests, visibility delay, and whether the steady-state hypothesis holds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from bridge.analysis.attribution import CODES, START, WINDOW, inside
from bridge.analysis.slo import LATENCY_QUANTILE, Slo
from bridge.analysis.stats import FloatArray, wilson
from bridge.analysis.windows import Window


@dataclass
class OpStats:
    """One operation in one window."""

    window: str
    op: str
    n: int
    successes: int
    answered: int
    latencies: FloatArray = field(repr=False)  # sorted, answered requests only
    visibility: bool
    slow_share: float  # answered requests slower than the latency objective (or visibility limit)
    violations: list[str] = field(default_factory=list)

    @property
    def success_ratio(self) -> float:
        return self.successes / self.n if self.n else math.nan

    @property
    def holds(self) -> bool:
        return self.n > 0 and not self.violations

    def p(self, q: float) -> float:
        return sorted_percentile(self.latencies, q)

    def summary(self) -> dict[str, Any]:
        lo, hi = wilson(self.successes, self.n)
        out: dict[str, Any] = {
            "n": self.n,
            "successes": self.successes,
            "answered": self.answered,
            "success_ratio": rounded(self.success_ratio),
            "success_ci95": [rounded(lo), rounded(hi)],
            "latency_ms": {
                "p50": rounded(self.p(50)),
                "p95": rounded(self.p(95)),
                "p99": rounded(self.p(99)),
                "max": rounded(float(self.latencies[-1]) if self.answered else math.nan),
            },
            "holds": self.holds,
            "violations": list(self.violations),
        }
        if self.visibility:
            out["visibility_delay_s"] = {k: rounded(v / 1000.0) for k, v in out["latency_ms"].items() if v is not None}
        return out


def sorted_percentile(sorted_values: FloatArray, q: float) -> float:
    """:func:`bridge.analysis.stats.percentile` (inverted CDF) read straight off a sorted sample:
    the value at rank ceil(q/100 * n), in O(1) instead of a partition of the whole window."""
    n = len(sorted_values)
    if n == 0:
        return math.nan
    rank = min(n, max(1, math.ceil(q / 100.0 * n - 1e-9)))
    return float(sorted_values[rank - 1])


def rounded(x: float) -> float | None:
    """JSON-friendly rounding; NaN becomes null."""
    return None if x is None or math.isnan(x) else round(float(x), 6)


def in_window(probes: pl.DataFrame, window: Window) -> pl.Expr:
    """The predicate of :func:`rows_in`."""
    if WINDOW in probes.columns and window.name in CODES:
        return pl.col(WINDOW) == CODES[window.name]
    if START in probes.columns:
        return inside(window)
    return (pl.col("t") >= window.start) & (pl.col("t") < window.end)


def rows_in(probes: pl.DataFrame, window: Window, columns: tuple[str, ...] | None = None) -> pl.DataFrame:
    """Probe rows whose outcome interval lies wholly in the window (bridge.analysis.attribution);
    a frame without outcome intervals falls back to the intended send time ``t`` (half-open).

    ``columns``: only these are copied (a window's rows are a large share of 10 M)."""
    lazy = probes.lazy().filter(in_window(probes, window))
    return (lazy if columns is None else lazy.select(columns)).collect()


def op_stats(rows: pl.DataFrame, window: str, op: str, slo: Slo) -> OpStats:
    """Figures for one operation's rows in one window, and the hypothesis checked on them."""
    vis = slo.is_delay(op)
    slo = slo.for_op(op)  # each operation is judged by its own objective (run.json `objectives`)
    lat = rows["latency_ms"].drop_nulls().sort().to_numpy().astype(np.float64, copy=False)
    ok = rows["ok"].cast(pl.Int64)
    limit_ms = slo.visibility_s_max * 1000.0 if (vis and slo.visibility_s_max is not None) else None
    if limit_ms is not None:
        in_time = rows["latency_ms"].fill_null(math.inf) <= limit_ms
        successes = int((ok.cast(pl.Boolean) & in_time).sum())
    else:
        successes = int(ok.sum())
    limit = limit_ms if limit_ms is not None else slo.latency_p95_ms_max
    slow = int(len(lat) - np.searchsorted(lat, limit, side="right")) if len(lat) else 0
    stats = OpStats(window, op, rows.height, successes, len(lat), lat, vis, slow / len(lat) if len(lat) else math.nan)
    stats.violations = _violations(stats, slo)
    return stats


def _violations(s: OpStats, slo: Slo) -> list[str]:
    if s.n == 0:
        return ["no probe request in this window"]
    out = []
    what = "visible in time" if (s.visibility and slo.visibility_s_max is not None) else "successful"
    if s.success_ratio < slo.success_ratio_min:
        out.append(f"{s.op}: {s.success_ratio:.2%} of requests {what}, below the objective {slo.success_ratio_min:.2%}")
    if not s.visibility and s.answered and s.p(LATENCY_QUANTILE) > slo.latency_p95_ms_max:
        out.append(
            f"{s.op}: p95 latency {s.p(LATENCY_QUANTILE):.0f} ms, above the objective {slo.latency_p95_ms_max:.0f} ms"
        )
    return out


def window_stats(probes: pl.DataFrame, window: Window, slo: Slo, ops: list[str]) -> dict[str, OpStats]:
    """Every operation's figures in one window (operations absent there get n = 0)."""
    # one filter per operation on the whole frame, copying only the two columns the figures read:
    # less memory traffic than copying the window's rows and then each operation's
    where = in_window(probes, window)
    lazy = probes.lazy()
    return {
        op: op_stats(lazy.filter(where & (pl.col("op") == op)).select(FIGURES).collect(), window.name, op, slo)
        for op in ops
    }


FIGURES = ("latency_ms", "ok")  # what op_stats reads


def operations(probes: pl.DataFrame) -> list[str]:
    """The operations probed, sorted (order-independent)."""
    if probes.height == 0:
        return []
    return sorted(str(x) for x in probes["op"].unique().to_list())
