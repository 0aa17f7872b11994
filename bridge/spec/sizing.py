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

Declared probes (``steady_state.probes``) are sized per operation, each from its own rate and bound
as its kind describes them (:meth:`bridge.probes.contract.ProbeDeclaration.sampling`): the preflight
must see every operation's ``min_samples`` completed rows, and both the baseline and the fault
window must hold every operation's required samples, since the analysis of a fault window too
short for them can only say "too few samples".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bridge.probes.contract import Sampling, sampling_of
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
    if drill.steady_state.probes:
        return max((_op_check_s(drill, op) for op in _declared(drill)), default=PREFLIGHT_MIN_S)
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
    knob: str = "steady_state.probe.rate"  # the rate that would shorten the minimum

    def message(self) -> str:
        change = "lower" if self.knob.endswith(".step") else "raise"
        return (
            f"{self.seconds:g}s is too short: it must be at least {math.ceil(self.minimum_s):g}s ({self.why}); "
            f"lengthen {self.field}, or {change} {self.knob}"
        )


def too_short_windows(drill: Drill) -> list[TooShort]:
    """The baseline, when too short for the preflight or the analysis, with its minimum and why
    (with declared probes, also the fault window; each at most once, for its longest need)."""
    if drill.steady_state.probes:
        return _declared_too_short(drill)
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


# -- declared probes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpSizing:
    """One operation of the declared probes, as sizing sees it."""

    op: str
    sampling: Sampling
    min_samples: int  # what the preflight needs (its resolved objective)
    required: int  # what the analysis needs per window


def _declared(drill: Drill) -> list[OpSizing]:
    ss = drill.steady_state
    # what the analysis puts at the end of a row without a figure (run.json probe.timeout_s)
    sampled = sampling_of(ss.probes, float(ss.probe.timeout))
    out = []
    for decl in ss.probes:
        for info in decl.measured():
            if info.name not in sampled:
                continue  # a kind that does not describe its sampling is not sized
            o = info.objective
            success = o.success_ratio_min if o.success_ratio_min is not None else ss.slo.success_ratio_min
            own = o.min_samples or ss.slo.min_samples
            # the drill's tolerances.min_samples raises the bar per window (never lowers the objective's)
            minimum = max(own, drill.tolerances.min_samples or 0)
            out.append(OpSizing(info.name, sampled[info.name], own, _required(success, minimum)))
    return out


def _required(success_ratio_min: float, minimum: int) -> int:
    """bridge.analysis.slo.Slo.required_samples, for one operation's bar."""
    budget = 1.0 - success_ratio_min
    resolution = math.ceil(1.0 / budget - 1e-9) if budget > 0 else minimum
    return max(minimum, min(resolution, 10_000))


def _op_check_s(drill: Drill, o: OpSizing) -> float:
    """The preflight span that shows ``o.min_samples`` completed rows of one operation: the rows the
    probe had at its start (history) count at once; the rest come at the rate, each ready its
    ``ready`` seconds after its time, of which the warm-up absorbs what it can."""
    s = o.sampling
    missing_s = o.min_samples / s.rate - s.history_s
    if missing_s <= 0:
        return PREFLIGHT_MIN_S
    return max(PREFLIGHT_MIN_S, math.ceil(missing_s - 1e-9) + 1.0) + max(0.0, s.ready - drill.windows.warmup)


def _op_window_s(o: OpSizing) -> float:
    """The shortest window holding ``o.required`` rows wholly inside it."""
    return math.ceil(o.required / o.sampling.rate - 1e-9) + o.sampling.bound_s


def _knob(o: OpSizing) -> str:
    s = o.sampling
    return f"steady_state.probes[{s.probe}].{s.knob}"


def _declared_too_short(drill: Drill) -> list[TooShort]:
    ops = _declared(drill)
    out = []
    for field, seconds in (("windows.baseline", drill.windows.baseline), ("windows.fault", drill.windows.fault)):
        needs: list[tuple[float, str, str]] = []
        for o in ops:
            s = o.sampling
            per = f"{s.rate:g}/s" if s.knob == "rate" else f"one row every {1.0 / s.rate:g}s"
            needs.append(
                (
                    _op_window_s(o),
                    f"{o.required} rows of {o.op} for the analysis at {per}, plus {s.bound_s:g}s for the "
                    "last ones' outcomes",
                    _knob(o),
                )
            )
            if field == "windows.baseline":
                check = _op_check_s(drill, o)
                needs.append(
                    (
                        check,
                        f"the preflight judges {o.min_samples} completed rows of {o.op} over its first "
                        f"{check:g}s at {per}",
                        _knob(o),
                    )
                )
        if not needs:
            continue
        minimum, why, knob = max(needs, key=lambda n: n[0])
        if seconds < minimum:
            out.append(TooShort(field, seconds, minimum, why, knob))
    return out
