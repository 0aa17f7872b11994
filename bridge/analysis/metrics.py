"""Consume delay and backlog from metrics.csv, when the run collected them.

Metric names are free-form, so they are recognised by words: a name containing ``delay`` is a
consume delay (its unit read from the suffix: ``_ms``/``millis`` or ``_s``/``seconds``); one
containing ``lag``, ``backlog`` or ``accumulat`` is a backlog in messages. Series with several
label sets are combined per timestamp: delays by their maximum, backlogs by their sum.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from bridge.analysis.windows import Windows

DELAY_NAME = re.compile(r"delay", re.I)
BACKLOG_NAME = re.compile(r"lag|backlog|accumulat", re.I)
# A backlog is a count of messages; "lag latency" style metrics are times and belong to the delay figures.
NOT_BACKLOG = re.compile(r"delay|latency", re.I)


def unit_of(name: str) -> str:
    low = name.lower()
    if low.endswith("_ms") or "millis" in low or low.endswith("_milliseconds"):
        return "ms"
    if low.endswith("_s") or "second" in low:
        return "s"
    return ""


def series(
    metrics: pl.DataFrame, pattern: re.Pattern[str], exclude: re.Pattern[str] | None, how: str
) -> tuple[str, pl.DataFrame] | None:
    if metrics.height == 0:
        return None
    names = sorted(
        n
        for n in metrics["name"].unique().to_list()
        if pattern.search(n) and not (exclude is not None and exclude.search(n))
    )
    if not names:
        return None
    name = names[0]
    agg = pl.col("value").max() if how == "max" else pl.col("value").sum()
    # Negative values are exporter sentinels (RocketMQ reports Long.MIN_VALUE lag with no consumer), not data.
    series = metrics.filter((pl.col("name") == name) & (pl.col("value") >= 0)).group_by("t").agg(agg).sort("t")
    return name, series


def consume_figures(metrics: pl.DataFrame, w: Windows) -> dict[str, Any]:
    """Peak consume delay, and backlog peak and drain time (from recovery confirmed), if present."""
    out: dict[str, Any] = {}
    lo = w.fault.start if w.fault else None
    hi = w.recovery.end if w.recovery else (w.fault.end if w.fault else None)
    delay = series(metrics, DELAY_NAME, None, "max")
    if delay is not None and lo is not None and hi is not None:
        name, s = delay
        part = s.filter((pl.col("t") >= lo) & (pl.col("t") < hi))
        if part.height:
            row = part.sort(["value", "t"], descending=[True, False]).row(0, named=True)
            out["peak_consume_delay"] = {
                "metric": name,
                "value": row["value"],
                "unit": unit_of(name),
                "at_s_after_fault_start": round(row["t"] - lo, 3),
            }
    backlog = series(metrics, BACKLOG_NAME, NOT_BACKLOG, "sum")
    if backlog is not None and lo is not None and hi is not None:
        out["backlog"] = _backlog(*backlog, w, lo, hi)
    return out


def _backlog(name: str, s: pl.DataFrame, w: Windows, lo: float, hi: float) -> dict[str, Any]:
    base = s.filter((pl.col("t") >= w.baseline.start) & (pl.col("t") < w.baseline.end)) if w.baseline else s.head(0)
    level = float(base["value"].max()) if base.height else 0.0  # type: ignore[arg-type]
    during = s.filter((pl.col("t") >= lo) & (pl.col("t") < hi))
    peak = float(during["value"].max()) if during.height else level  # type: ignore[arg-type]
    out: dict[str, Any] = {"metric": name, "baseline_level": level, "peak": peak, "drain_time_s": None}
    if w.recovery is None or peak <= level:
        out["drained"] = peak <= level
        return out
    threshold = level + 0.05 * (peak - level)
    after = s.filter(
        (pl.col("t") >= w.recovery.start) & (pl.col("t") < w.recovery.end) & (pl.col("value") <= threshold)
    )
    out["drained"] = after.height > 0
    if after.height:
        out["drain_time_s"] = round(float(after["t"].min()) - w.recovery.start, 3)  # type: ignore[arg-type]
    return out
