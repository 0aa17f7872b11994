"""Per-second series for the report's timeline (success ratio, latency percentiles, consume figures)."""

from __future__ import annotations

import polars as pl

from bridge.analysis.analyze import Analysis
from bridge.analysis.metrics import BACKLOG_NAME, DELAY_NAME, NOT_BACKLOG, series, unit_of


def origin(a: Analysis) -> float:
    """Time zero of the plots: the start of the baseline (else the first probe)."""
    if a.windows.span is not None:
        return a.windows.span[0]
    return float(a.run.probes["t"].min()) if a.run.probes.height else 0.0  # type: ignore[arg-type]


def per_second(a: Analysis) -> pl.DataFrame:
    """Columns: op, s (seconds from origin), n, success_ratio, p50, p95, p99 (answered requests)."""
    t0 = origin(a)
    probes = a.run.probes
    if a.windows.span is not None:
        lo, hi = a.windows.span
        probes = probes.filter((pl.col("t") >= lo) & (pl.col("t") < hi))
    lat = pl.col("latency_ms")
    return (
        probes.with_columns(((pl.col("t") - t0).floor()).alias("s"))
        .group_by(["op", "s"])
        .agg(
            pl.len().alias("n"),
            pl.col("ok").cast(pl.Float64).mean().alias("success_ratio"),
            lat.quantile(0.50, "higher").alias("p50"),
            lat.quantile(0.95, "higher").alias("p95"),
            lat.quantile(0.99, "higher").alias("p99"),
        )
        .sort(["op", "s"])
    )


def consume_series(a: Analysis) -> dict[str, tuple[str, str, pl.DataFrame]]:
    """``{"delay"|"backlog": (metric name, unit, frame with s and value)}`` for what was collected."""
    out: dict[str, tuple[str, str, pl.DataFrame]] = {}
    t0 = origin(a)
    for key, found in (
        ("delay", series(a.run.metrics, DELAY_NAME, None, "max")),
        ("backlog", series(a.run.metrics, BACKLOG_NAME, NOT_BACKLOG, "sum")),
    ):
        if found is not None:
            name, frame = found
            unit = unit_of(name) if key == "delay" else "messages"
            out[key] = (name, unit, frame.with_columns((pl.col("t") - t0).alias("s")))
    return out


def markers(a: Analysis) -> dict[str, float]:
    """Event times (seconds from origin) worth a vertical line."""
    w, t0 = a.windows, origin(a)
    named = {
        "inject requested": w.inject_requested,
        "inject confirmed": w.inject_confirmed,
        "recover requested": w.recover_requested,
        "recover confirmed": w.recover_confirmed,
        "abort": w.aborted_at,
    }
    return {k: v - t0 for k, v in named.items() if v is not None}
