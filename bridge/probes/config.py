"""What the probe needs to know, gathered from the drill's models into one frozen value.

The drill language (:mod:`bridge.spec.models`) says *what* to measure (rate, timeout, operations,
channel, SLO); this adds what only the probe cares about (run id for unique users, the in-flight
bound, the visibility polling schedule) with defaults derived from the drill.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bridge.spec.models import Channel, Drill, Operation, Probe, Slo

# Poll GET /cart soon after the add answers (visibility is usually a few ms over RocketMQ), then
# back off so a cart that never shows the item costs ~10 requests/s per pending flow, not more.
DEFAULT_POLL_DELAYS_S: tuple[float, ...] = (0.0, 0.005, 0.01, 0.02, 0.04, 0.08, 0.1)

# Flows in flight above this are refused and recorded as failures (a bound on sockets and memory,
# far above what an honest server needs, so it never turns the probe closed-loop in practice).
MAX_IN_FLIGHT_CAP = 20_000


@dataclass(frozen=True)
class ProbeConfig:
    """One probe's settings. Build it with :meth:`from_models` or :meth:`from_drill`."""

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
