"""The demo shop probe's settings as one frozen value (the shop preset's knobs).

Kept for callers that think in shop terms (the bench, the older tests, drills written in the
older ``steady_state.probe`` form): :meth:`ProbeConfig.probe_set` turns them into the preset's
``http`` + ``eventually`` declarations (:mod:`bridge.probes.preset`), which is all the runner runs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bridge.probes.kinds.eventually import DEFAULT_POLL_S
from bridge.probes.kinds.http import MAX_IN_FLIGHT_CAP
from bridge.probes.probeset import ProbeSet
from bridge.spec.models import Channel, Drill, Operation, Probe, Slo

DEFAULT_POLL_DELAYS_S = DEFAULT_POLL_S


@dataclass(frozen=True)
class ProbeConfig:
    """One shop probe's settings. Build it with :meth:`from_models` or :meth:`from_drill`."""

    frontend_url: str
    rate: float
    timeout_s: float
    operations: tuple[Operation, ...]
    channel: Channel
    visibility_s_max: float
    run_id: str = "probe"
    product_id: str | None = None  # None: the first id that GET /products lists
    max_in_flight: int | None = None  # None: derived from rate × (timeout + visibility bound)
    poll_delays_s: tuple[float, ...] = field(default=DEFAULT_POLL_DELAYS_S)

    def __post_init__(self) -> None:
        if not self.rate > 0 or not math.isfinite(self.rate):
            raise ValueError(f"probe rate must be a positive number, got {self.rate!r}")
        if not self.timeout_s > 0:
            raise ValueError(f"probe timeout must be positive, got {self.timeout_s!r}")
        if not self.operations:
            raise ValueError("probe needs at least one operation")
        if not self.poll_delays_s or any(d < 0 for d in self.poll_delays_s):
            raise ValueError("poll_delays_s must be a non-empty list of non-negative delays")

    @classmethod
    def from_models(cls, probe: Probe, slo: Slo, channel: Channel, *, run_id: str = "probe") -> ProbeConfig:
        return cls(
            frontend_url=probe.frontend_url.rstrip("/"),
            rate=probe.rate,
            timeout_s=probe.timeout,
            operations=tuple(dict.fromkeys(probe.operations)),
            channel=channel,
            visibility_s_max=slo.visibility_s_max,
            run_id=run_id,
        )

    @classmethod
    def from_drill(cls, drill: Drill, *, run_id: str) -> ProbeConfig:
        return cls.from_models(drill.steady_state.probe, drill.steady_state.slo, drill.channel, run_id=run_id)

    @property
    def base_url(self) -> str:
        return self.frontend_url.rstrip("/")

    @property
    def checks_visibility(self) -> bool:
        return "cart_visible" in self.operations

    @property
    def flow_bound_s(self) -> float:
        """The longest one flow (add, then visibility polling) can take."""
        # Visibility polls are cut off at the bound, so a flow never outlives add timeout + bound.
        return self.timeout_s + (self.visibility_s_max if self.checks_visibility else 0.0)

    @property
    def in_flight_limit(self) -> int:
        if self.max_in_flight is not None:
            return self.max_in_flight
        return min(MAX_IN_FLIGHT_CAP, math.ceil(self.rate * self.flow_bound_s * 1.5) + 100)

    def probe_set(self, slo: Slo | None = None) -> ProbeSet:
        """The preset's declarations for these settings (``slo``: the default objectives)."""
        from bridge.probes.preset import shop_probes

        declarations = shop_probes(
            frontend_url=self.base_url,
            rate=self.rate,
            timeout_s=self.timeout_s,
            operations=self.operations,
            channel=self.channel,
            visibility_s_max=self.visibility_s_max,
            product_id=self.product_id,
            max_in_flight=self.max_in_flight,
            poll_delays_s=self.poll_delays_s,
        )
        base = slo or Slo()
        return ProbeSet(
            declarations,
            run_id=self.run_id,
            channel=self.channel,
            slo=base.model_copy(update={"visibility_s_max": self.visibility_s_max}),
        )
