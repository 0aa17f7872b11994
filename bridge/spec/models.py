"""The drill language: typed models of ``kind: Drill`` and ``kind: Suite`` files (apiVersion mqdrill/v1).

Unknown keys are refused everywhere. Every string that could reach a command line or a
Kubernetes object is constrained by a pattern here (names, labels, class names), so shell
metacharacters never get past loading. Defaults fit the demo shop, so a drill can be three lines::

    apiVersion: mqdrill/v1
    kind: Drill
    scenario: broker-unavailable
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from bridge.spec.units import parse_duration_s

API_VERSION = "mqdrill/v1"

# Kubernetes name rules (DNS-1123); label keys may carry a DNS-subdomain prefix.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
LABEL_KEY = r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
LABEL_VALUE = r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"
SLUG = r"^[a-z0-9]([-a-z0-9]{0,62})$"
JAVA_CLASS = r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*){0,30}$"
IFACE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$"

# A duration: a number of seconds or text like "30s", "5m", "250ms" (validators parse and bound it).
Duration = Annotated[
    float,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$"},
            ],
            "description": "seconds, or text like '30s', '5m', '1h30m', '250ms'",
        }
    ),
]
Name = Annotated[str, Field(pattern=SLUG, max_length=63)]
Namespace = Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]
PodName = Annotated[str, Field(pattern=DNS_SUBDOMAIN, max_length=253)]
LabelKey = Annotated[str, Field(pattern=LABEL_KEY, max_length=317)]
LabelValue = Annotated[str, Field(pattern=LABEL_VALUE, max_length=63)]
Service = Literal["namesrv", "broker", "proxy", "frontend", "cartservice", "redis"]
EngineName = Literal["chaosmesh", "chaosblade", "blade", "local"]
Channel = Literal["rocketmq", "http"]
Strength = Literal["strong", "weak", "unknown"]
Operation = Literal["add_to_cart", "cart_visible"]
DEFAULT_OPERATIONS: tuple[Operation, ...] = ("add_to_cart", "cart_visible")


class Strict(BaseModel):
    """Base of every model: unknown keys are refused, values are not coerced across types."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _seconds(value: Any, *, minimum: float, field_name: str) -> float:
    seconds = parse_duration_s(value)
    if seconds < minimum:
        raise ValueError(f"{field_name} must be at least {minimum:g}s, got {value!r}")
    return seconds


class Targets(Strict):
    """What the fault hits. Kubernetes: a namespace plus labels or pod names. Local: service names.

    Left empty, the catalog's defaults for the scenario's component apply.
    """

    namespace: Namespace | None = None
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=20)
    pods: list[PodName] = Field(default_factory=list, max_length=50)
    services: list[Service] = Field(default_factory=list, max_length=6)
    mode: Literal["one", "all", "fixed", "fixed-percent", "random-max-percent"] = "one"
    value: Annotated[str, Field(pattern=r"^[0-9]{1,3}$")] | None = Field(
        default=None, description="count for mode fixed, percent for the percent modes"
    )
    container: Name | None = Field(default=None, description="container name inside the pods, when one is meant")


class FaultParams(Strict):
    """Knobs of the trigger cause; each is checked and rendered by the planners, never passed through."""

    latency_ms: int = Field(default=500, ge=1, le=60_000)
    jitter_ms: int = Field(default=0, ge=0, le=60_000)
    loss_percent: int = Field(default=30, ge=1, le=100)
    direction: Literal["to", "from", "both"] = Field(
        default="both", description="network faults: traffic to the component, from it, or both"
    )
    client: Literal["frontend", "cartservice", "all"] = Field(
        default="all", description="which client's path a network or client fault hits"
    )
    restart_after: Duration = Field(default=10.0, description="pod-kill on the local engine: restart after this delay")
    fill_percent: int = Field(default=97, ge=50, le=100)
    cpu_workers: int = Field(default=2, ge=1, le=64)
    cpu_load: int = Field(default=100, ge=1, le=100)
    exception: Annotated[str, Field(pattern=JAVA_CLASS, max_length=200)] = "java.lang.RuntimeException"
    interface: Annotated[str, Field(pattern=IFACE)] = "eth0"

    @field_validator("restart_after", mode="before")
    @classmethod
    def _restart_after(cls, value: Any) -> float:
        return _seconds(value, minimum=0, field_name="restart_after")


class Windows(Strict):
    """How long each phase lasts (planned; analysis reads what happened from events.jsonl)."""

    warmup: Duration = Field(
        default=5.0, description="probe traffic before the baseline, never judged (a just-started stack warms up)"
    )
    baseline: Duration = Field(default=30.0, description="seconds or '30s', '2m'")
    fault: Duration = Field(default=60.0)
    recovery: Duration = Field(default=60.0)

    @field_validator("warmup", mode="before")
    @classmethod
    def _warmup(cls, value: Any) -> float:
        return _seconds(value, minimum=0, field_name="windows.warmup")

    @field_validator("baseline", "fault", "recovery", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return _seconds(value, minimum=1, field_name="a window")


class Probe(Strict):
    """The open-loop steady-state probe against the demo shop's frontend."""

    rate: float = Field(default=20.0, gt=0, le=5000, description="requests per second, scheduled open-loop")
    timeout: Duration = Field(default=2.0, description="per-request timeout")
    operations: list[Operation] = Field(default_factory=lambda: list(DEFAULT_OPERATIONS), min_length=1)
    frontend_url: Annotated[str, Field(pattern=r"^https?://[A-Za-z0-9.\-\[\]:]+(/[A-Za-z0-9._~/-]*)?$")] = (
        "http://127.0.0.1:8080"
    )

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> float:
        return _seconds(value, minimum=0.01, field_name="timeout")


class Slo(Strict):
    """The steady-state hypothesis, checked per window on the probe rows."""

    success_ratio_min: float = Field(default=0.99, ge=0, le=1)
    latency_p95_ms_max: float = Field(default=500.0, gt=0, le=600_000)
    visibility_s_max: float = Field(default=5.0, gt=0, le=3600, description="cart must show the item within this")
    min_samples: int = Field(default=30, ge=1, le=10_000_000)


class SteadyState(Strict):
    probe: Probe = Field(default_factory=Probe)
    slo: Slo = Field(default_factory=Slo)


class Tolerances(Strict):
    """How the analysis tells a real difference from noise (today's values are the defaults).

    A fault-vs-baseline difference counts only when its test is significant at ``confidence`` and
    its effect is at least the tolerance; a window needs ``min_samples`` requests per operation
    (default: ``steady_state.slo.min_samples``), and the probe may be late by at most
    ``probe_lateness_ms_max`` (p95) before its figures stop describing the application.
    """

    confidence: float = Field(default=0.99, ge=0.5, le=0.999999, description="1 - alpha of the one-sided tests")
    success_drop: float = Field(default=0.005, ge=0, le=1, description="smallest success-ratio drop that matters")
    latency_shift: float = Field(
        default=0.25, ge=0, le=100, description="smallest latency shift that matters, relative to the baseline median"
    )
    latency_shift_ms: float = Field(default=5.0, ge=0, le=600_000, description="... and at least this many ms")
    min_samples: int | None = Field(default=None, ge=1, le=10_000_000, description="requests per window and operation")
    probe_lateness_ms_max: float = Field(
        default=250.0, gt=0, le=600_000, description="p95 send lateness of the probe above which a window is unjudged"
    )


class Guard(Strict):
    """Aborts the drill (and recovers) when the business is hurt beyond this for ``for_`` seconds."""

    success_ratio_min: float = Field(default=0.0, ge=0, le=1)
    for_: Duration = Field(default=15.0, alias="for")

    @field_validator("for_", mode="before")
    @classmethod
    def _for(cls, value: Any) -> float:
        return _seconds(value, minimum=1, field_name="guard.for")


class Safety(Strict):
    """Blast radius: how much the drill may hit, and the guard that aborts it."""

    max_pods: int = Field(default=1, ge=1, le=1000)
    max_percent: int = Field(default=50, ge=1, le=100)
    allow_all: bool = Field(default=False, description="allow mode: all (every matching pod)")
    guard: Guard | None = None


class Drill(Strict):
    """One scenario + causes + targets + steady state + windows, run once."""

    api_version: Literal["mqdrill/v1"] = Field(alias="apiVersion")
    kind: Literal["Drill"]
    name: Name | None = None
    description: Annotated[str, Field(max_length=2000)] = ""
    scenario: Name
    causes: list[Name] = Field(default_factory=list, max_length=5, description="default: the scenario's first cause")
    engine: EngineName = "local"
    app: Literal["frontend", "cartservice"] = Field(default="frontend", description="the application judged")
    channel: Channel = "rocketmq"
    targets: Targets = Field(default_factory=Targets)
    params: FaultParams = Field(default_factory=FaultParams)
    windows: Windows = Field(default_factory=Windows)
    steady_state: SteadyState = Field(default_factory=SteadyState)
    tolerances: Tolerances = Field(default_factory=Tolerances)
    expected: Strength = "unknown"
    safety: Safety = Field(default_factory=Safety)

    @model_validator(mode="before")
    @classmethod
    def _cause_shorthand(cls, data: Any) -> Any:
        """``cause: x`` is accepted as shorthand for ``causes: [x]``."""
        if isinstance(data, dict) and "cause" in data:
            if "causes" in data:
                raise ValueError("give either `cause` or `causes`, not both")
            data = dict(data)
            cause = data.pop("cause")
            data["causes"] = [cause] if isinstance(cause, str) else cause
        return data

    @property
    def display_name(self) -> str:
        return self.name or f"{self.scenario}-{self.channel}"


class SuiteEntry(Strict):
    """A drill in a suite: a file (relative to the suite file's folder) or an inline drill."""

    file: Annotated[str, Field(pattern=r"^[A-Za-z0-9_./-]{1,255}$")] | None = None
    drill: Drill | None = None

    @model_validator(mode="after")
    def _one_of(self) -> SuiteEntry:
        if (self.file is None) == (self.drill is None):
            raise ValueError("each suite entry needs exactly one of `file` or `drill`")
        return self


class Suite(Strict):
    """A list of drills run from the command line, serially or in parallel where targets do not overlap."""

    api_version: Literal["mqdrill/v1"] = Field(alias="apiVersion")
    kind: Literal["Suite"]
    name: Name
    description: Annotated[str, Field(max_length=2000)] = ""
    engine: EngineName | None = Field(default=None, description="overrides every drill's engine")
    windows: Windows | None = Field(default=None, description="overrides every drill's windows")
    drills: list[SuiteEntry] = Field(min_length=1, max_length=500)
