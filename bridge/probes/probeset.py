"""A drill's probes as one value: the declarations, and each operation's resolved objective.

:func:`probe_set` is where a drill becomes probes: its ``steady_state.probes``, or the demo shop
preset when there are none. :meth:`ProbeSet.objectives` fills each operation's objective from
the drill's ``slo``; the runner writes them into ``run.json`` (``objectives``) beside the older
``slo`` dict, and the analysis judges each operation against its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bridge.probes.contract import OperationInfo, ProbeDeclaration
from bridge.spec.models import Drill, Slo


@dataclass(frozen=True)
class ResolvedObjective:
    """One operation's bar with every default applied (what run.json's ``objectives`` holds)."""

    op: str
    measure: str
    success_ratio_min: float
    latency_p95_ms_max: float | None  # "latency" operations only
    delay_s_max: float | None  # "delay" operations only
    lag_max: float | None
    min_samples: int

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "measure": self.measure,
            "success_ratio_min": self.success_ratio_min,
            "min_samples": self.min_samples,
        }
        for key in ("latency_p95_ms_max", "delay_s_max", "lag_max"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def resolve_objective(info: OperationInfo, slo: Slo) -> ResolvedObjective:
    o = info.objective
    return ResolvedObjective(
        op=info.name,
        measure=info.measure,
        success_ratio_min=o.success_ratio_min if o.success_ratio_min is not None else slo.success_ratio_min,
        latency_p95_ms_max=(o.latency_p95_ms_max or slo.latency_p95_ms_max) if info.measure == "latency" else None,
        delay_s_max=(o.delay_s_max or slo.visibility_s_max) if info.measure == "delay" else None,
        lag_max=o.lag_max,
        min_samples=o.min_samples or slo.min_samples,
    )


@dataclass(frozen=True)
class ProbeSet:
    """Everything the probe runner needs: declarations, the run id, the drill's channel and default SLO."""

    declarations: tuple[ProbeDeclaration, ...]
    run_id: str = "probe"
    channel: str = "rocketmq"
    slo: Slo = Slo()

    def operations(self) -> tuple[OperationInfo, ...]:
        return tuple(info for d in self.declarations for info in d.measured())

    def objectives(self) -> dict[str, ResolvedObjective]:
        return {info.name: resolve_objective(info, self.slo) for info in self.operations()}

    def history_operations(self) -> frozenset[str]:
        """Operations whose first rows are the recent past read at the probe's start (a Prometheus
        probe): those rows are evidence of the steady state, so the preflight judges them too."""
        from bridge.probes.contract import sampling_of

        sampled = sampling_of(self.declarations, 0.0)
        return frozenset(op for op, s in sampled.items() if s.history_s > 0)

    @property
    def rate(self) -> float:
        """Flows per second across the drivers (for the preflight's duration)."""
        return sum(float(getattr(d, "rate", 0.0)) for d in self.declarations) or 1.0

    @property
    def start_bound_s(self) -> float:
        """How long setup may take before the probe counts as not starting."""
        timeouts = [float(getattr(d, "timeout", 2.0)) * max(1, len(getattr(d, "setup", ()))) for d in self.declarations]
        return max(timeouts, default=2.0) + 5.0

    @property
    def max_min_samples(self) -> int:
        return max((o.min_samples for o in self.objectives().values()), default=self.slo.min_samples)


def probe_set(drill: Drill, *, run_id: str) -> ProbeSet:
    """The drill's probes: ``steady_state.probes``, or the demo shop preset tuned by ``steady_state.probe``."""
    from bridge.probes.preset import shop_probes

    ss = drill.steady_state
    if ss.probes:
        declarations = tuple(ss.probes)
    else:
        declarations = shop_probes(
            frontend_url=ss.probe.frontend_url,
            rate=ss.probe.rate,
            timeout_s=ss.probe.timeout,
            operations=tuple(dict.fromkeys(ss.probe.operations)),
            channel=drill.channel,
            visibility_s_max=ss.slo.visibility_s_max,
        )
    return ProbeSet(declarations, run_id=run_id, channel=drill.channel, slo=ss.slo)


def objectives_for(drill: Drill) -> dict[str, dict[str, Any]]:
    """run.json's ``objectives``: each operation's resolved bar."""
    return {op: o.as_dict() for op, o in probe_set(drill, run_id="meta").objectives().items()}
