"""Error signatures (logs/signatures.csv) that appear or grow during the fault window."""

from __future__ import annotations

from typing import Any

import polars as pl

from bridge.analysis.windows import Window

GROWTH_FACTOR = 2.0
MIN_COUNT = 3


def _counts(sig: pl.DataFrame, w: Window | None) -> dict[tuple[str, str], float]:
    if w is None or sig.height == 0:
        return {}
    part = sig.filter((pl.col("t") >= w.start) & (pl.col("t") < w.end))
    agg = part.group_by(["source", "signature"]).agg(pl.col("count").sum())
    return {(str(r["source"] or ""), str(r["signature"])): float(r["count"]) for r in agg.iter_rows(named=True)}


def changed_signatures(
    sig: pl.DataFrame, baseline: Window | None, fault: Window | None, limit: int = 20
) -> list[dict[str, Any]]:
    """Signatures new in the fault window, or whose rate grew at least ``GROWTH_FACTOR`` times."""
    if fault is None or fault.duration <= 0:
        return []
    base, during = _counts(sig, baseline), _counts(sig, fault)
    base_s = baseline.duration if baseline is not None and baseline.duration > 0 else None
    out: list[dict[str, Any]] = []
    for key, count in during.items():
        before = base.get(key, 0.0)
        rate_f = count / fault.duration
        rate_b = before / base_s if base_s else 0.0
        if before == 0 and count > 0:
            change = "appeared"
        elif count >= MIN_COUNT and rate_b > 0 and rate_f >= GROWTH_FACTOR * rate_b:
            change = "grew"
        else:
            continue
        out.append(
            {
                "source": key[0],
                "signature": key[1],
                "change": change,
                "baseline_count": before,
                "fault_count": count,
                "baseline_per_s": round(rate_b, 6),
                "fault_per_s": round(rate_f, 6),
            }
        )
    out.sort(key=lambda d: (-d["fault_count"], d["source"], d["signature"]))
    return out[:limit]
