"""The engine contract: plan (no side effects) → inject → status → recover.

An engine turns a resolved :class:`Fault` into a :class:`Plan` (Kubernetes objects, ``blade``
argv lists or local actions) that ``mqdrill plan`` prints, and later applies it. ``inject``
returns a :class:`Handle` holding everything recovery needs, so recovery works from a handle
read back from the ledger on disk after mqdrill itself died.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

EngineName = Literal["chaosmesh", "chaosblade", "blade", "local"]
ENGINE_NAMES: tuple[EngineName, ...] = ("chaosmesh", "chaosblade", "blade", "local")

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "mqdrill"
RUN_ID_LABEL = "mqdrill.io/run-id"

ParamValue = str | int | float | bool


@dataclass(frozen=True)
class Target:
    """The instances a fault hits, already resolved from the drill and the catalog.

    Kubernetes targets name a namespace plus labels or pod names; local targets name services
    of the embedded environment (``broker``, ``namesrv``, ``proxy``, ``frontend``, ``cartservice``).
    """

    namespace: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    pods: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    mode: str = "one"  # Chaos Mesh selector mode: one | all | fixed | fixed-percent | random-max-percent
    mode_value: str | None = None
    container: str | None = None  # container name inside the pod, when one is meant
    process: str | None = None  # process name inside the container/host (e.g. BrokerStartup)


@dataclass(frozen=True)
class Fault:
    """One fault to inject: a scenario's cause against a component, fully resolved."""

    run_id: str
    scenario: str
    cause: str
    component: str  # namesrv | broker | proxy | frontend | cartservice
    engine: EngineName
    target: Target
    duration_s: int  # the hard end: the fault ends by itself after this many seconds
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    # The client side of a network fault, where the drill names it (targets.client): its own
    # namespace and labels or pods. None: the catalog's client apps, in the target's namespace.
    peer: Target | None = None

    @property
    def labels(self) -> dict[str, str]:
        """Labels every created object carries (DESIGN.md safety rules)."""
        return {MANAGED_BY_LABEL: MANAGED_BY_VALUE, RUN_ID_LABEL: self.run_id}


LocalKind = Literal[
    "kill",  # SIGKILL the service's process; restart_after_s set → a supervisor restarts it
    "pause",  # SIGSTOP, then SIGCONT at recovery / deadline
    "toxic",  # add a Toxiproxy toxic on the service's proxy (type + attributes)
    "proxy-down",  # disable the service's Toxiproxy proxy (every connection closed)
    "iptables-drop",  # iptables DROP on the service's port
    "disk-fill",  # fill the bounded filesystem under the broker's store path
    "cpu-stress",  # stress-ng on the service's cores
]


@dataclass(frozen=True)
class LocalAction:
    """One action of the local engine, against one service of the embedded environment."""

    kind: LocalKind
    service: str
    params: Mapping[str, ParamValue] = field(default_factory=dict)
    deadline_s: int = 0  # hard end, enforced by a watchdog that outlives mqdrill


@dataclass(frozen=True)
class Plan:
    """Exactly what an engine would apply; printing it touches nothing."""

    engine: EngineName
    fault: Fault
    objects: tuple[Mapping[str, Any], ...] = ()  # Kubernetes objects (chaosmesh, chaosblade)
    argv: tuple[tuple[str, ...], ...] = ()  # blade command lines, one list per command
    local: tuple[LocalAction, ...] = ()  # local engine actions
    notes: tuple[str, ...] = ()  # what a reader should know (e.g. why a flag is set)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready view: the document ``mqdrill plan --json`` prints for this plan."""
        data: dict[str, Any] = {
            "engine": self.engine,
            "scenario": self.fault.scenario,
            "cause": self.fault.cause,
            "component": self.fault.component,
            "duration_s": self.fault.duration_s,
            "params": dict(self.fault.params),
        }
        if self.objects:
            data["objects"] = [dict(o) for o in self.objects]
        if self.argv:
            data["argv"] = [list(a) for a in self.argv]
        if self.local:
            data["local"] = [
                {"kind": a.kind, "service": a.service, "params": dict(a.params), "deadline_s": a.deadline_s}
                for a in self.local
            ]
        if self.notes:
            data["notes"] = list(self.notes)
        return data


@dataclass(frozen=True)
class Handle:
    """All that recovery needs, serialisable to the ledger: engine, run and engine-specific data."""

    engine: EngineName
    run_id: str
    ref: str  # a human-readable reference: object name, blade UID, local action id
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Handle:
        return cls(engine=raw["engine"], run_id=raw["run_id"], ref=raw["ref"], data=dict(raw.get("data", {})))


FaultStatus = Literal["injected", "recovered", "partial", "unknown"]


@dataclass(frozen=True)
class FaultState:
    """What an engine observes about a fault it injected."""

    status: FaultStatus
    detail: str = ""


@runtime_checkable
class Engine(Protocol):
    """What every engine provides. ``plan`` has no side effects."""

    name: EngineName

    def plan(self, fault: Fault) -> Plan: ...

    def inject(self, plan: Plan) -> Handle: ...

    def status(self, handle: Handle) -> FaultState: ...

    def recover(self, handle: Handle) -> None: ...
