"""The drill's tolerances, read from run.json ``tolerances`` (written from the drill's
``tolerances`` section; bridge.spec.models.Tolerances). Missing fields take today's values; a
bad field is reported in the notes and defaulted, never raised, like the SLO."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bridge.analysis.slo import Tolerance

DEFAULT_LATENESS_MS_MAX = 250.0


@dataclass(frozen=True)
class Judging:
    """Everything the judge may be told by the drill beyond its SLO."""

    tolerance: Tolerance
    min_samples: int | None = None  # None: the SLO's min_samples
    lateness_ms_max: float = DEFAULT_LATENESS_MS_MAX

    def as_dict(self) -> dict[str, Any]:
        t = self.tolerance
        return {
            "confidence": round(1.0 - t.alpha, 9),
            "success_drop": t.success_drop_min,
            "latency_shift": t.latency_shift_rel,
            "latency_shift_ms": t.latency_shift_abs_ms,
            "min_samples": self.min_samples,
            "probe_lateness_ms_max": self.lateness_ms_max,
        }


def _field(raw: dict[str, Any], key: str, default: float, lo: float, hi: float, problems: list[str]) -> float:
    value = raw.get(key)
    if value is None:
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if math.isnan(number) or not lo <= number <= hi:
        problems.append(f"run.json tolerances.{key}={value!r} is outside [{lo:g}, {hi:g}]; using {default:g}")
        return default
    return number


def judging_from_meta(meta: dict[str, Any], problems: list[str]) -> Judging:
    raw = meta.get("tolerances")
    if not isinstance(raw, dict):
        if raw is not None:
            problems.append("run.json tolerances is not an object; using the default tolerances")
        raw = {}
    base = Tolerance()
    confidence = _field(raw, "confidence", 1.0 - base.alpha, 0.5, 0.999999, problems)
    tol = Tolerance(
        alpha=round(1.0 - confidence, 12),
        success_drop_min=_field(raw, "success_drop", base.success_drop_min, 0.0, 1.0, problems),
        latency_shift_rel=_field(raw, "latency_shift", base.latency_shift_rel, 0.0, 100.0, problems),
        latency_shift_abs_ms=_field(raw, "latency_shift_ms", base.latency_shift_abs_ms, 0.0, 600_000.0, problems),
    )
    min_samples = None
    if raw.get("min_samples") is not None:
        min_samples = int(_field(raw, "min_samples", 30, 1, 1e7, problems))
    lateness = _field(raw, "probe_lateness_ms_max", DEFAULT_LATENESS_MS_MAX, 1e-9, 600_000.0, problems)
    return Judging(tol, min_samples, lateness)
