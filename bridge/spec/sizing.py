"""How long the windows must be for the probe's rate to yield the samples the checks need.

Pure arithmetic on the drill model, so ``validate`` and ``plan`` can refuse a drill whose
preflight or analysis could only fail, before anything starts:

- the preflight's steady-state check judges the requests that *completed* over its last
  ``check`` seconds of the baseline; at the probe's rate that must be ``slo.min_samples`` per
  operation even when every request takes as long as a healthy one may (timeout, then the
  visibility bound), beyond what the warm-up already absorbed;
- the analysis needs ``required_samples`` requests per operation wholly inside the baseline; the
  requests sent in its last ``flow bound`` seconds may end after it (they are left out of both
  windows), so the baseline needs that much more.

``required_samples`` is the analysis' rule (bridge/analysis/slo.py, kept equal by a test).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bridge.spec.models import Drill

PREFLIGHT_MIN_S = 3.0


def flow_bound_s(drill: Drill) -> float:
    """The longest one probe request's outcome can take to be decided."""
    probe = drill.steady_state.probe
    eventual = "cart_visible" in probe.operations
    return float(probe.timeout) + (drill.steady_state.slo.visibility_s_max if eventual else 0.0)


def required_samples(drill: Drill) -> int:
    """Requests per window and operation the analysis needs (see bridge.analysis.slo.Slo)."""
    slo = drill.steady_state.slo
    minimum = drill.tolerances.min_samples or slo.min_samples
    budget = 1.0 - slo.success_ratio_min
    resolution = math.ceil(1.0 / budget - 1e-9) if budget > 0 else minimum
    return max(minimum, min(resolution, 10_000))


def preflight_check_s(drill: Drill) -> float:
    """How long the steady-state check probes, from the start of the baseline."""
    rate = drill.steady_state.probe.rate
    base = max(PREFLIGHT_MIN_S, math.ceil(drill.steady_state.slo.min_samples / rate) + 1.0)
    return base + max(0.0, flow_bound_s(drill) - drill.windows.warmup)


def analysis_window_s(drill: Drill) -> float:
    """The shortest window that yields ``required_samples`` judged requests."""
    return math.ceil(required_samples(drill) / drill.steady_state.probe.rate) + flow_bound_s(drill)


@dataclass(frozen=True)
class TooShort:
    field: str  # e.g. windows.baseline
    seconds: float
    minimum_s: float
    why: str

    def message(self) -> str:
        return (
            f"{self.seconds:g}s is too short: it must be at least {math.ceil(self.minimum_s):g}s ({self.why}); "
            f"lengthen {self.field}, or raise steady_state.probe.rate"
        )


def too_short_windows(drill: Drill) -> list[TooShort]:
    """The baseline, when too short for the preflight or the analysis, with its minimum and why."""
    rate = drill.steady_state.probe.rate
    need, bound = required_samples(drill), flow_bound_s(drill)
    analysis = (
        f"{need} requests per operation for the analysis at {rate:g}/s, plus {bound:g}s for the "
        "last requests' outcomes (timeout + visibility bound)"
    )
    out = []
    w = drill.windows
    check = preflight_check_s(drill)
    if w.baseline < max(check, analysis_window_s(drill)):
        if check > analysis_window_s(drill):
            why = (
                f"the preflight judges {drill.steady_state.slo.min_samples} completed requests per operation "
                f"over its first {check:g}s at {rate:g}/s"
            )
            out.append(TooShort("windows.baseline", w.baseline, check, why))
        else:
            out.append(TooShort("windows.baseline", w.baseline, analysis_window_s(drill), analysis))
    # A short fault window is not refused: its analysis says "too few samples" (inconclusive), and a
    # momentary fault (a kill recovered at once) is a drill people mean to run.
    return out
