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
WINDOW = "window"  # attribute(): the code of the window a row belongs to (0: none)
CODES = {"baseline": 1, "fault": 2, "recovery": 3}
DEFAULT_TIMEOUT_S = 2.0  # the drill language's default probe timeout (bridge.spec.models.Probe)
DEFAULT_VISIBILITY_S = 5.0  # ... and its default visibility bound (bridge.spec.models.Slo)


@dataclass(frozen=True)
class Bounds:
    """How long the probe waited at most: for an answer, and for an eventual effect."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    eventual_s: float = DEFAULT_VISIBILITY_S
    source: str = "defaults"  # run.json, or defaults when it did not record them
    # Which operations are eventual effects, and each one's own bound (run.json's per-operation
    # objectives); without it, the demo shop's names and ``eventual_s``.
    slo: Slo | None = None

    def is_eventual(self, op: str) -> bool:
        return self.slo.is_delay(op) if self.slo is not None else is_visibility_op(op)

    def eventual_for(self, op: str) -> float:
        own = self.slo.for_op(op).visibility_s_max if self.slo is not None else None
        return own if own is not None else self.eventual_s

    def as_dict(self) -> dict[str, Any]:
        return {"timeout_s": self.timeout_s, "visibility_bound_s": self.eventual_s, "from": self.source}


def bounds_from_meta(meta: dict[str, Any], slo: Slo, problems: list[str]) -> Bounds:
    """The probe's timeout from run.json ``probe.timeout_s``, the eventual bound from the SLO."""
    probe = meta.get("probe")
    raw = probe.get("timeout_s") if isinstance(probe, dict) else None
    eventual = slo.visibility_s_max if slo.visibility_s_max is not None else DEFAULT_VISIBILITY_S
    if raw is None:
        return Bounds(DEFAULT_TIMEOUT_S, eventual, "defaults (run.json has no probe.timeout_s)", slo)
    try:
        timeout = float(raw)
    except (TypeError, ValueError):
        timeout = math.nan
    if not 0 < timeout < 1e6:
        problems.append(f"run.json probe.timeout_s={raw!r} is not a positive number; using {DEFAULT_TIMEOUT_S:g}")
        return Bounds(DEFAULT_TIMEOUT_S, eventual, "defaults (run.json probe.timeout_s unusable)", slo)
    return Bounds(timeout, eventual, "run.json", slo)


def _interval(probes: pl.DataFrame, bounds: Bounds) -> tuple[pl.Expr, pl.Expr]:
    """Expressions for each row's outcome interval (start, end), per the table in the docstring."""
    eventual_ops = [str(op) for op in probes["op"].unique().to_list() if op is not None and bounds.is_eventual(str(op))]
    eventual = pl.col("op").is_in(eventual_ops) if eventual_ops else pl.lit(False)
    bound = pl.lit(bounds.eventual_s)
    for op in eventual_ops:  # each eventual operation waited its own bound
        if bounds.eventual_for(op) != bounds.eventual_s:
            bound = pl.when(pl.col("op") == op).then(pl.lit(bounds.eventual_for(op))).otherwise(bound)
    t, lat = pl.col("t"), pl.col("latency_ms")
    sent = pl.col("sent").fill_null(t) if "sent" in probes.columns else t
    has_sent = pl.col("sent").is_not_null() if "sent" in probes.columns else pl.lit(False)
    # how long after ``sent`` the outcome was decided: the answer, else the bound the probe waited
    waited = pl.when(eventual & has_sent).then(bound).otherwise(pl.lit(bounds.timeout_s))
    end = sent + pl.coalesce(lat.clip(lower_bound=0.0) / 1000.0, waited)
    start = pl.when(eventual).then(t).otherwise(sent)
    return start, end


def with_outcome(probes: pl.DataFrame, bounds: Bounds) -> pl.DataFrame:
    """``probes`` plus the outcome interval of every row (columns :data:`START`, :data:`END`)."""
    if probes.height == 0:
        return probes.with_columns(pl.lit(None, pl.Float64).alias(START), pl.lit(None, pl.Float64).alias(END))
    start, end = _interval(probes, bounds)
    return probes.with_columns(start.alias(START), end.alias(END))


def attribute(probes: pl.DataFrame, bounds: Bounds, w: Windows) -> tuple[pl.DataFrame, Census]:
    """The rows as the windows' figures read them, and the :class:`Census`.

    Columns ``op, latency_ms, ok``, :data:`END` and :data:`WINDOW` (the code of the window the row
    belongs to, 0 for none): each window's filter then compares one small integer, as the analysis
    did before attribution by outcome."""
    if probes.height == 0 or not w.all():
        frame = with_outcome(probes, bounds).select("op", "latency_ms", "ok", START, END)
        return frame.drop(START).with_columns(pl.lit(0, pl.UInt8).alias(WINDOW)), census(frame, w)
    # The interval, the label and the census in lazy polars queries run together: evaluated chunk
    # by chunk on every core, they allocate little beyond the output, where eager expressions (or
    # numpy on the columns) made a full-length temporary of every step, and dropping a column of the
    # chunked result copied it: at 10 M rows, more memory and time than the whole analysis before
    # attribution. A later window wins a shared row, as when labels were assigned window by window.
    start, end = _interval(probes, bounds)
    label: pl.Expr = pl.lit(0, pl.UInt8)
    for x in w.all():
        label = pl.when(inside(x)).then(pl.lit(CODES[x.name], pl.UInt8)).otherwise(label)
    rows = (
        probes.lazy()
        .select("op", "latency_ms", "ok", start.alias(START), end.alias(END))
        .with_columns(label.alias(WINDOW))
    )
    # a row crossing a boundary lies in no window by construction: the crossing tests need no filter
    pairs = _pairs(w)
    counted = rows.select(
        (pl.col(WINDOW) > 0).sum().alias("n"),
        pl.col("op").filter(pl.col(WINDOW).is_in([1, 2])).unique().cast(pl.String).implode().alias("ops"),
        *[_crossing(p, n).sum().alias(f"{p.name}|{n.name}") for p, n in pairs],
    )
    frame, census_row = pl.collect_all([rows.drop(START), counted])
    row = census_row.row(0, named=True)
    compared = sorted(str(x) for x in row.pop("ops") if x is not None)
    n = int(row.pop("n"))
    return frame, Census(n, compared, {k: int(v) for k, v in row.items()})


def inside(window: Window) -> pl.Expr:
    """Rows whose whole outcome interval lies in ``window`` (half-open, like the windows)."""
    return (pl.col(START) >= window.start) & (pl.col(END) < window.end)


def _pairs(w: Windows) -> list[tuple[Window, Window]]:
    pairs = ((w.baseline, w.fault), (w.fault, w.recovery))
    return [(p, n) for p, n in pairs if p is not None and n is not None]


def _crossing(prev: Window, nxt: Window, s: pl.Expr | None = None, e: pl.Expr | None = None) -> pl.Expr:
    s = pl.col(START) if s is None else s
    e = pl.col(END) if e is None else e
    in_gap = (s >= prev.end) & (e < nxt.start)
    return (s >= prev.start) & (s < nxt.start) & (e >= prev.end) & ~in_gap


@dataclass(frozen=True)
class Census:
    """One pass over the rows: how many lie in a window, which operations the baseline or fault
    window saw, and how many were left out at each boundary (:func:`straddling`)."""

    in_windows: int
    compared_ops: list[str]
    straddling: dict[str, int]


def census(frame: pl.DataFrame, w: Windows) -> Census:
    pairs = _pairs(w)
    if frame.height == 0:
        return Census(0, [], {f"{p.name}|{n.name}": 0 for p, n in pairs})
    any_window, compared = pl.lit(False), pl.lit(False)
    for x in w.all():
        any_window = any_window | inside(x)
        if x.name in ("baseline", "fault"):
            compared = compared | inside(x)
    exprs = [
        any_window.sum().alias("n"),
        pl.col("op").filter(compared).unique().cast(pl.String).implode().alias("ops"),
        *[_crossing(p, n).sum().alias(f"{p.name}|{n.name}") for p, n in pairs],
    ]
    row = frame.select(exprs).row(0, named=True)
    ops = sorted(str(x) for x in row.pop("ops") if x is not None)
    n = int(row.pop("n"))
    return Census(n, ops, {k: int(v) for k, v in row.items()})


def straddling(frame: pl.DataFrame, w: Windows) -> dict[str, int]:
    """Rows left out at each boundary between judged windows: sent in the earlier window (or the
    uncertain gap after it) and decided after that window ended, except rows wholly in the gap."""
    return census(frame, w).straddling
