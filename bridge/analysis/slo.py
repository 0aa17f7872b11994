"""The steady-state hypothesis (the drill's SLO) and the judge's tolerances, read from run.json.

run.json's ``slo`` is the drill-wide bar (older run directories hold only this); ``objectives``,
when present, holds each operation's own bar and what its figure means (``measure``: latency,
delay, lag). :meth:`Slo.for_op` gives the bar one operation is judged by, so a drill can hold a
fast synchronous path and a slow asynchronous one to different objectives.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

# Defaults when run.json carries no SLO: DESIGN.md's example steady state.
DEFAULT_SUCCESS_MIN = 0.99
DEFAULT_P95_MS_MAX = 500.0
DEFAULT_MIN_SAMPLES = 30
LATENCY_QUANTILE = 95.0


@dataclass(frozen=True)
class Slo:
    """What the business must keep doing, plus what counts as "enough samples"."""

    success_ratio_min: float = DEFAULT_SUCCESS_MIN
    latency_p95_ms_max: float = DEFAULT_P95_MS_MAX
    visibility_s_max: float | None = None  # the eventual-delay bound (for a per-operation bar: its delay_s_max)
    min_samples: int = DEFAULT_MIN_SAMPLES
    measure: str | None = None  # set on one operation's bar: "latency", "delay" or "lag"
    objectives: Mapping[str, Slo] = field(default_factory=dict)  # per operation, from run.json

    def for_op(self, op: str) -> Slo:
        """The bar ``op`` is judged by: its own objective when run.json has one, else this SLO."""
        return self.objectives.get(op, self)

    def is_delay(self, op: str) -> bool:
        """Whether ``op``'s figure is an eventual delay (bounded per row) rather than an answer time."""
        if self.measure is not None:
            return self.measure == "delay"
        if op in self.objectives:
            return self.objectives[op].measure == "delay"
        return is_visibility_op(op)

    @property
    def required_samples(self) -> int:
        """Samples per window and operation needed before a hypothesis that holds means anything.

        At least ``min_samples``, and at least enough that a single failure moves the observed
        ratio by no more than the error budget (1 / (1 - min)): with fewer, a window could not
        have shown a violation of the success objective at the resolution the SLO asks for.
        """
        budget = 1.0 - self.success_ratio_min
        resolution = math.ceil(1.0 / budget - 1e-9) if budget > 0 else self.min_samples
        return max(self.min_samples, min(resolution, 10_000))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "success_ratio_min": self.success_ratio_min,
            "latency_p95_ms_max": self.latency_p95_ms_max,
            "min_samples": self.min_samples,
            "required_samples": self.required_samples,
        }
        if self.visibility_s_max is not None:
            out["visibility_s_max"] = self.visibility_s_max
        if self.measure is not None:
            out["measure"] = self.measure
        if self.objectives:
            out["objectives"] = {op: o.as_dict() for op, o in sorted(self.objectives.items())}
        return out


@dataclass(frozen=True)
class Tolerance:
    """Effect sizes below which a statistically significant difference is still called noise."""

    alpha: float = 0.01
    success_drop_min: float = 0.005  # absolute drop in success ratio
    latency_shift_rel: float = 0.25  # Hodges-Lehmann shift relative to the baseline median
    latency_shift_abs_ms: float = 5.0


def _num(raw: Any, default: float, problems: list[str], key: str, lo: float, hi: float) -> float:
    if raw is None:
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        problems.append(f"run.json slo.{key} is not a number ({raw!r}); using {default:g}")
        return default
    if not lo <= value <= hi or math.isnan(value):
        problems.append(f"run.json slo.{key}={value:g} is outside [{lo:g}, {hi:g}]; using {default:g}")
        return default
    return value


def slo_from_meta(meta: dict[str, Any], problems: list[str]) -> Slo:
    """Build the SLO from run.json's ``slo`` object; bad fields are reported and defaulted."""
    raw = meta.get("slo")
    if not isinstance(raw, dict):
        if raw is not None:
            problems.append("run.json slo is not an object; using the default SLO")
        raw = {}
    vis_raw = raw.get("visibility_s_max")
    vis = None if vis_raw is None else _num(vis_raw, 5.0, problems, "visibility_s_max", 0.0, 1e6)
    base = Slo(
        success_ratio_min=_num(
            raw.get("success_ratio_min"), DEFAULT_SUCCESS_MIN, problems, "success_ratio_min", 0.0, 1.0
        ),
        latency_p95_ms_max=_num(
            raw.get("latency_p95_ms_max"), DEFAULT_P95_MS_MAX, problems, "latency_p95_ms_max", 0.0, 1e9
        ),
        visibility_s_max=vis,
        min_samples=int(_num(raw.get("min_samples"), DEFAULT_MIN_SAMPLES, problems, "min_samples", 1, 1e9)),
    )
    objectives = _objectives(meta.get("objectives"), base, problems)
    return replace(base, objectives=objectives) if objectives else base


MEASURES = ("latency", "delay", "lag")


def _objectives(raw: Any, base: Slo, problems: list[str]) -> dict[str, Slo]:
    """run.json's per-operation ``objectives``; a missing field takes the drill-wide ``slo``."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append("run.json objectives is not an object; judging every operation by slo")
        return {}
    out: dict[str, Slo] = {}
    for op, o in raw.items():
        if not isinstance(o, dict):
            problems.append(f"run.json objectives.{op} is not an object; judging it by slo")
            continue
        measure = o.get("measure", "latency")
        if measure not in MEASURES:
            problems.append(f"run.json objectives.{op}.measure={measure!r} is unknown; judging it as latency")
            measure = "latency"
        key = f"objectives.{op}"
        delay = o.get("delay_s_max", base.visibility_s_max if measure == "delay" else None)
        out[str(op)] = Slo(
            success_ratio_min=_num(
                o.get("success_ratio_min"), base.success_ratio_min, problems, f"{key}.success_ratio_min", 0.0, 1.0
            ),
            # A delay or lag figure is not an answer time: no latency bar for it.
            latency_p95_ms_max=math.inf
            if measure != "latency"
            else _num(
                o.get("latency_p95_ms_max"), base.latency_p95_ms_max, problems, f"{key}.latency_p95_ms_max", 0.0, 1e9
            ),
            visibility_s_max=None if delay is None else _num(delay, 5.0, problems, f"{key}.delay_s_max", 0.0, 1e6),
            min_samples=int(_num(o.get("min_samples"), base.min_samples, problems, f"{key}.min_samples", 1, 1e9)),
            measure=measure,
        )
    return out


def is_visibility_op(op: str) -> bool:
    """Visibility probes (e.g. ``cart_visible``): latency_ms is the delay until the cart shows the item."""
    return "visible" in op or "visibility" in op
