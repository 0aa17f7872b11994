"""Which window a probe row belongs to: the one its whole outcome interval lies in.

A row's outcome is not decided at its intended send time ``t`` but over an interval:

- a request-response row (``add_to_cart``): from ``sent`` to ``sent + latency`` when answered,
  to ``sent + timeout`` when not (the probe gave up then);
- an eventual row (``cart_visible``: the add is followed by polls until the item shows): from the
  add, whose intended time is ``t``, to ``sent + delay`` when the item showed (``sent`` is the first
  poll, right after the add answered, and the delay counts from there), to ``sent + bound`` when
  it never did, or to ``t + timeout`` when the add itself failed and nothing was polled.

A row belongs to a window when its interval starts at or after the window's start and ends
before the window's end. A row whose interval crosses a boundary is in neither window: an item
added two seconds before the fault on a consumer that needs two and a half is "not visible in
time" *because of* the fault, and must not be blamed on the baseline. Such rows are counted
(:func:`straddling`), so the evidence says how many were left out. Rows with no ``sent`` (never
sent: refused for overflow) start at ``t``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import polars as pl

from bridge.analysis.slo import Slo, is_visibility_op
from bridge.analysis.windows import Window, Windows

START, END = "outcome_start", "outcome_end"
DEFAULT_TIMEOUT_S = 2.0  # the drill language's default probe timeout (bridge.spec.models.Probe)
DEFAULT_VISIBILITY_S = 5.0  # ... and its default visibility bound (bridge.spec.models.Slo)


@dataclass(frozen=True)
class Bounds:
    """How long the probe waited at most: for an answer, and for an eventual effect."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    eventual_s: float = DEFAULT_VISIBILITY_S
    source: str = "defaults"  # run.json, or defaults when it did not record them

    def as_dict(self) -> dict[str, Any]:
        return {"timeout_s": self.timeout_s, "visibility_bound_s": self.eventual_s, "from": self.source}


def bounds_from_meta(meta: dict[str, Any], slo: Slo, problems: list[str]) -> Bounds:
    """The probe's timeout from run.json ``probe.timeout_s``, the eventual bound from the SLO."""
    probe = meta.get("probe")
    raw = probe.get("timeout_s") if isinstance(probe, dict) else None
    eventual = slo.visibility_s_max if slo.visibility_s_max is not None else DEFAULT_VISIBILITY_S
    if raw is None:
        return Bounds(DEFAULT_TIMEOUT_S, eventual, "defaults (run.json has no probe.timeout_s)")
    try:
        timeout = float(raw)
    except (TypeError, ValueError):
        timeout = math.nan
    if not 0 < timeout < 1e6:
        problems.append(f"run.json probe.timeout_s={raw!r} is not a positive number; using {DEFAULT_TIMEOUT_S:g}")
        return Bounds(DEFAULT_TIMEOUT_S, eventual, "defaults (run.json probe.timeout_s unusable)")
    return Bounds(timeout, eventual, "run.json")


def with_outcome(probes: pl.DataFrame, bounds: Bounds) -> pl.DataFrame:
    """``probes`` plus the outcome interval of every row (columns :data:`START`, :data:`END`)."""
    if probes.height == 0:
        return probes.with_columns(pl.lit(None, pl.Float64).alias(START), pl.lit(None, pl.Float64).alias(END))
    eventual_ops = [op for op in probes["op"].unique().to_list() if op is not None and is_visibility_op(str(op))]
    eventual = pl.col("op").is_in(eventual_ops) if eventual_ops else pl.lit(False)
    t, lat = pl.col("t"), pl.col("latency_ms")
    sent = pl.col("sent").fill_null(t) if "sent" in probes.columns else t
    has_sent = pl.col("sent").is_not_null() if "sent" in probes.columns else pl.lit(False)
    # how long after ``sent`` the outcome was decided: the answer, else the bound the probe waited
    waited = pl.when(eventual & has_sent).then(pl.lit(bounds.eventual_s)).otherwise(pl.lit(bounds.timeout_s))
    end = sent + pl.coalesce(lat.clip(lower_bound=0.0) / 1000.0, waited)
    start = pl.when(eventual).then(t).otherwise(sent)
    return probes.with_columns(start.alias(START), end.alias(END))


def inside(window: Window) -> pl.Expr:
    """Rows whose whole outcome interval lies in ``window`` (half-open, like the windows)."""
    return (pl.col(START) >= window.start) & (pl.col(END) < window.end)


def straddling(frame: pl.DataFrame, w: Windows) -> dict[str, int]:
    """Rows left out at each boundary between judged windows: sent in the earlier window (or the
    uncertain gap after it) and decided after that window ended, except rows wholly in the gap."""
    s, e = pl.col(START), pl.col(END)
    exprs = {}
    for prev, nxt in ((w.baseline, w.fault), (w.fault, w.recovery)):
        if prev is None or nxt is None:
            continue
        in_gap = (s >= prev.end) & (e < nxt.start)
        crossing = (s >= prev.start) & (s < nxt.start) & (e >= prev.end) & ~in_gap
        exprs[f"{prev.name}|{nxt.name}"] = crossing.sum()
    if not exprs or frame.height == 0:
        return {k: 0 for k in exprs}
    row = frame.select(**exprs).row(0, named=True)  # one pass for every boundary
    return {k: int(v) for k, v in row.items()}
