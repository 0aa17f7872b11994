"""From a validated drill to resolved faults: causes defaulted, targets filled from the catalog,
engine support and the blast-radius guards checked. Nothing here touches a system.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import time
from dataclasses import dataclass

from bridge.engines.base import Fault, ParamValue, Target
from bridge.errors import SafetyError, UnsupportedCombination
from bridge.spec.catalog import Catalog
from bridge.spec.models import DNS_LABEL, Drill

PROTECTED_NAMESPACES = frozenset(
    {
        "kube-system",
        "kube-public",
        "kube-node-lease",
        "chaos-mesh",
        "chaos-testing",
        "chaosblade",
        "chaosblade-operator",
        "istio-system",
        "cert-manager",
        "monitoring",
    }
)
KUBERNETES_ENGINES = frozenset({"chaosmesh", "chaosblade"})
CLIENT_CAUSES = frozenset({"client-delay", "client-exception"})
CLIENT_APPS = ("frontend", "cartservice")
# The hard end sits this long after the planned fault window: the runner recovers on time, the
# engine's own timer is the backstop if mqdrill dies.
HARD_END_SLACK_S = 15


@dataclass(frozen=True)
class ResolvedDrill:
    """A drill with everything decided: one fault per cause."""

    drill: Drill
    run_id: str
    faults: tuple[Fault, ...]
    component: str  # the dependency judged


def new_run_id(drill: Drill, now: float | None = None) -> str:
    """``YYYYmmdd-HHMMSS-<name>-<4 hex>``: sortable, a valid label value and object-name part."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now if now is not None else time.time()))
    return f"{stamp}-{drill.display_name[:30].rstrip('-')}-{secrets.token_hex(2)}"


def object_name(run_id: str, cause: str, index: int) -> str:
    """A DNS-1123 name, unique per run and fault, at most 63 characters."""
    digest = hashlib.sha1(run_id.encode()).hexdigest()[:8]
    return f"mqdrill-{cause[:30]}-{digest}-{index}"


def _where(source: str, field: str) -> str:
    return f"{source} at `{field}`"


def fault_component(drill: Drill, catalog: Catalog, cause: str) -> str:
    """Where the fault is placed: the middleware component, or the client app for client-side causes."""
    component = catalog.scenario(drill.scenario).component
    if cause not in CLIENT_CAUSES:
        return component
    if drill.params.client != "all":
        return drill.params.client
    return component if component in CLIENT_APPS else drill.app


def resolve(drill: Drill, catalog: Catalog, *, run_id: str | None = None, source: str = "drill") -> ResolvedDrill:
    """Check the drill against the catalog and the safety rules, and resolve its faults."""
    try:
        scenario = catalog.scenario(drill.scenario)
    except UnsupportedCombination as exc:
        raise UnsupportedCombination(f"{_where(source, 'scenario')}: {exc}") from None
    causes = list(drill.causes)
    if not causes:
        try:
            causes = [catalog.default_cause(drill.scenario, drill.engine)]
        except UnsupportedCombination as exc:
            raise UnsupportedCombination(f"{_where(source, 'engine')}: {exc}") from None
    for i, cause in enumerate(causes):
        try:
            catalog.check_engine(drill.scenario, cause, drill.engine)
        except UnsupportedCombination as exc:
            raise UnsupportedCombination(f"{_where(source, f'causes[{i}]')}: {exc}") from None
    check_safety(drill, source)
    for i, name in enumerate(drill.protections_on or []):
        if name not in catalog.protections:
            allowed = ", ".join(sorted(catalog.protections))
            raise UnsupportedCombination(
                f"{_where(source, f'protections_on[{i}]')}: unknown protection {name!r}: allowed {allowed}"
            )
    rid = run_id or new_run_id(drill)
    duration = math.ceil(drill.windows.fault) + HARD_END_SLACK_S
    faults = tuple(
        Fault(
            run_id=rid,
            scenario=drill.scenario,
            cause=cause,
            component=fault_component(drill, catalog, cause),
            engine=drill.engine,
            target=_target(drill, catalog, fault_component(drill, catalog, cause)),
            duration_s=duration,
            params=_params(drill, cause),
            peer=_peer(drill, cause, fault_component(drill, catalog, cause)),
        )
        for cause in causes
    )
    return ResolvedDrill(drill=drill, run_id=rid, faults=faults, component=scenario.component)


# The parameters each cause reads; the others are left out of the fault so plans show only what matters.
CAUSE_PARAMS: dict[str, tuple[str, ...]] = {
    "pod-kill": ("restart_after",),
    "container-kill": ("restart_after",),
    "network-delay": ("latency_ms", "jitter_ms", "direction", "client", "interface"),
    "network-loss": ("loss_percent", "direction", "client", "interface"),
    "network-drop": ("direction", "client", "interface"),
    "cpu-full": ("cpu_workers", "cpu_load"),
    "disk-fill": ("fill_percent",),
    "client-delay": ("latency_ms", "jitter_ms", "client"),
    "client-exception": ("exception", "client"),
}


def _params(drill: Drill, cause: str) -> dict[str, ParamValue]:
    values = drill.params.model_dump()
    return {k: values[k] for k in CAUSE_PARAMS.get(cause, ())}


NETWORK_CAUSES = frozenset({"network-delay", "network-loss", "network-drop"})


def _peer(drill: Drill, cause: str, component: str) -> Target | None:
    """The client side of a network fault on the middleware, where the drill names it (``targets.client``)."""
    c = drill.targets.client
    if c is None or cause not in NETWORK_CAUSES or component in CLIENT_APPS:
        return None
    return Target(namespace=c.namespace, labels=dict(c.labels), pods=tuple(c.pods), mode="all")


def _target(drill: Drill, catalog: Catalog, component_name: str) -> Target:
    if component_name not in catalog.components:
        return _app_target(drill, catalog, component_name)
    component = catalog.components[component_name]
    t = drill.targets
    uses_kubernetes = drill.engine in KUBERNETES_ENGINES or (drill.engine == "blade" and not t.services)
    if drill.engine == "local" or not uses_kubernetes:
        return Target(services=tuple(t.services or [component.local_service]), process=component.process)
    labels = dict(t.labels) if (t.labels or t.pods) else dict(component.kubernetes.labels)
    return Target(
        namespace=t.namespace or catalog.defaults.namespace,
        labels=labels if not t.pods else dict(t.labels),
        pods=tuple(t.pods),
        mode=t.mode,
        mode_value=t.value,
        container=t.container or component.kubernetes.container,
        process=component.process,
    )


def _app_target(drill: Drill, catalog: Catalog, app: str) -> Target:
    """A user's own application (not in the catalog): its service locally, ``app=<name>`` pods otherwise.

    The name passed the drill's identifier pattern, so it is safe as a service name, a label
    value and a process name.
    """
    t = drill.targets
    if drill.engine == "local" or (drill.engine == "blade" and t.services):
        return Target(services=tuple(t.services or [app]), process=app)
    return Target(
        namespace=t.namespace or catalog.defaults.namespace,
        labels=dict(t.labels) if (t.labels or t.pods) else {"app": app},
        pods=tuple(t.pods),
        mode=t.mode,
        mode_value=t.value,
        container=t.container or (app if re.fullmatch(DNS_LABEL, app) else None),
        process=app,
    )


def check_safety(drill: Drill, source: str = "drill") -> None:
    """DESIGN.md's guards: protected namespaces, namespace-less selectors, blast radius. Raises SafetyError."""
    t, s = drill.targets, drill.safety
    if t.namespace in PROTECTED_NAMESPACES:
        raise SafetyError(
            f"{_where(source, 'targets.namespace')}: namespace {t.namespace!r} is protected; "
            f"mqdrill never injects into {', '.join(sorted(PROTECTED_NAMESPACES))}"
        )
    if drill.engine in KUBERNETES_ENGINES | {"blade"} and (t.labels or t.pods) and not t.namespace:
        raise SafetyError(
            f"{_where(source, 'targets.namespace')}: a label or pod selector needs a namespace; "
            "without one it could match pods anywhere"
        )
    if drill.engine == "local" and (t.labels or t.pods or t.namespace):
        raise SafetyError(
            f"{_where(source, 'targets')}: the local engine targets services (targets.services), "
            "not Kubernetes namespaces, labels or pods"
        )
    if t.mode == "all" and not s.allow_all:
        raise SafetyError(
            f"{_where(source, 'targets.mode')}: mode `all` hits every matching pod; "
            "set safety.allow_all: true if that is meant"
        )
    if t.mode in ("fixed", "fixed-percent", "random-max-percent") and t.value is None:
        raise SafetyError(f"{_where(source, 'targets.value')}: mode {t.mode!r} needs a value")
    if t.mode == "fixed" and t.value is not None and int(t.value) > s.max_pods:
        raise SafetyError(
            f"{_where(source, 'targets.value')}: {t.value} pods exceeds the blast radius safety.max_pods={s.max_pods}"
        )
    if t.mode in ("fixed-percent", "random-max-percent") and t.value is not None and int(t.value) > s.max_percent:
        raise SafetyError(
            f"{_where(source, 'targets.value')}: {t.value}% exceeds the blast radius safety.max_percent={s.max_percent}"
        )
    if t.client is not None and t.client.namespace in PROTECTED_NAMESPACES:
        raise SafetyError(
            f"{_where(source, 'targets.client.namespace')}: namespace {t.client.namespace!r} is protected; "
            f"mqdrill never injects into {', '.join(sorted(PROTECTED_NAMESPACES))}"
        )
    if t.client is not None and len(t.client.pods) > s.max_pods:
        raise SafetyError(
            f"{_where(source, 'targets.client.pods')}: {len(t.client.pods)} pods named, "
            f"more than safety.max_pods={s.max_pods}"
        )
    if len(t.pods) > s.max_pods:
        raise SafetyError(
            f"{_where(source, 'targets.pods')}: {len(t.pods)} pods named, more than safety.max_pods={s.max_pods}"
        )
