"""The drill language: typed models of ``kind: Drill`` and ``kind: Suite`` files (apiVersion mqdrill/v1).

Unknown keys are refused everywhere. Every string that could reach a command line or a
Kubernetes object is constrained by a pattern here (names, labels, class names), so shell
metacharacters never get past loading. Defaults fit the demo shop, so a drill can be three lines::

    apiVersion: mqdrill/v1
    kind: Drill
    scenario: broker-unavailable
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from bridge.probes.contract import ProbeDeclaration, ProbeFieldError, Scope
from bridge.probes.registry import declaration_union
from bridge.spec.base import (
    DNS_LABEL,
    DNS_SUBDOMAIN,
    HTTP_URL,
    IDENT,
    IFACE,
    JAVA_CLASS,
    LABEL_KEY,
    LABEL_VALUE,
    SLUG,
    Duration,
    Ident,
    Name,
    Strict,
)
from bridge.spec.base import seconds as _seconds

API_VERSION = "mqdrill/v1"
__all__ = [
    "DNS_LABEL",
    "DNS_SUBDOMAIN",
    "HTTP_URL",
    "IDENT",
    "IFACE",
    "JAVA_CLASS",
    "LABEL_KEY",
    "LABEL_VALUE",
    "SLUG",
    "Duration",
    "Ident",
    "Name",
    "Strict",
]

Namespace = Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]
PodName = Annotated[str, Field(pattern=DNS_SUBDOMAIN, max_length=253)]
LabelKey = Annotated[str, Field(pattern=LABEL_KEY, max_length=317)]
LabelValue = Annotated[str, Field(pattern=LABEL_VALUE, max_length=63)]
# A service of the embedded environment (namesrv, broker, proxy, frontend, cartservice, redis, or one
# the user added): a free name, checked against what the environment runs before a local fault.
Service = Ident
EngineName = Literal["chaosmesh", "chaosblade", "blade", "local"]
Channel = Literal["rocketmq", "http"]
Strength = Literal["strong", "weak", "unknown"]
Operation = Literal["add_to_cart", "cart_visible"]
DEFAULT_OPERATIONS: tuple[Operation, ...] = ("add_to_cart", "cart_visible")


class ClientTargets(Strict):
    """Where the client side of a network fault runs (Chaos Mesh's NetworkChaos ``target``): the
    pods of the client application whose path to the component is hit, in its own namespace."""

    namespace: Namespace
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict, max_length=20)
    pods: list[PodName] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _selects_something(self) -> ClientTargets:
        if not (self.labels or self.pods):
            raise ValueError("targets.client needs labels or pods: a namespace alone selects every pod in it")
        return self


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
    client: ClientTargets | None = Field(
        default=None,
        description=(
            "network causes on Kubernetes: the client pods whose path to the component is hit, in their "
            "own namespace (default: the catalog's labels of params.client, in targets.namespace)"
        ),
    )


class FaultParams(Strict):
    """Knobs of the trigger cause; each is checked and rendered by the planners, never passed through."""

    latency_ms: int = Field(default=500, ge=1, le=60_000)
    jitter_ms: int = Field(default=0, ge=0, le=60_000)
    loss_percent: int = Field(default=30, ge=1, le=100)
    direction: Literal["to", "from", "both"] = Field(
        default="both", description="network faults: traffic to the component, from it, or both"
    )
    client: Ident = Field(
        default="all", description="which client application's path a network or client fault hits ('all': every one)"
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


if TYPE_CHECKING:
    AnyProbe = ProbeDeclaration
else:  # the discriminated union of every registered kind's declaration (bridge/probes/registry.py)
    AnyProbe = declaration_union()


class SteadyState(Strict):
    """What the business must keep doing: ``probes`` (any kinds; see docs/drill-language.md), each
    operation held to its own ``objective``, by default to ``slo``.

    Without ``probes``, the demo shop preset applies, tuned by the older ``probe`` block.
    """

    probe: Probe = Field(default_factory=Probe, description="the demo shop preset's knobs (when `probes` is empty)")
    slo: Slo = Field(default_factory=Slo, description="the default objective of every operation")
    probes: list[AnyProbe] = Field(default_factory=list, max_length=20, description="the probes, of any kind")

    @model_validator(mode="after")
    def _probes_fit_together(self) -> SteadyState:
        if self.probes and "probe" in self.model_fields_set:
            raise ValueError("give either `probe` (the demo shop preset) or `probes`, not both")
        check_probes(self.probes)
        return self


def check_probes(probes: list[Any]) -> None:
    """Operation names are unique across probes, and each probe's cross-references resolve.

    A problem raises :class:`ProbeFieldError` located at ``probes[i].<field>``.
    """
    owner: dict[str, ProbeDeclaration] = {}
    ops = {}
    for i, decl in enumerate(probes):
        for info in decl.measured():
            if info.name in owner:
                raise ProbeFieldError(("probes", i, "name"), f"operation {info.name!r} is measured by two probes")
            owner[info.name] = decl
            ops[info.name] = info
        for name in decl.values_after():  # steps that write no row can still be followed
            owner.setdefault(name, decl)
    values_after = {op: known for decl in probes for op, known in decl.values_after().items()}
    scope = Scope(operations=ops, values_after=values_after, owner=owner)
    for i, decl in enumerate(probes):
        try:
            decl.cross_check(scope)
        except ProbeFieldError as exc:
            raise ProbeFieldError(("probes", i, *exc.loc), exc.message) from None


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
    app: Ident = Field(default="frontend", description="the application judged (a name you choose)")
    dependency: Ident | None = Field(
        default=None, description="the dependency judged, as reports name it; default: the scenario's component"
    )
    channel: Channel = "rocketmq"
    targets: Targets = Field(default_factory=Targets)
    params: FaultParams = Field(default_factory=FaultParams)
    windows: Windows = Field(default_factory=Windows)
    steady_state: SteadyState = Field(default_factory=SteadyState)
    tolerances: Tolerances = Field(default_factory=Tolerances)
    expected: Strength = "unknown"
    safety: Safety = Field(default_factory=Safety)
    protections_on: list[Name] | None = Field(
        default=None,
        max_length=10,
        description="the application's protections switched on for this drill, by catalog name "
        "(the embedded environment restarts the demo shop with them; [] = none; left out = as the environment is)",
    )

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
