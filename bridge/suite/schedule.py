"""Which drills may run at the same time: never two faults on the same component (or the same
Kubernetes targets) at once. Pure logic, no side effects."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.spec.catalog import Catalog
from bridge.spec.models import Drill
from bridge.spec.resolve import resolve

Resource = tuple[str, str, str]  # (where, kind, name): ("local", "component", "broker")


@dataclass(frozen=True)
class SuiteItem:
    """One drill of a suite, in suite order."""

    index: int
    source: str
    drill: Drill

    @property
    def key(self) -> str:
        """The run directory's name inside the suite directory: order and drill name."""
        return f"{self.index + 1:02d}-{self.drill.display_name}"


def resources(drill: Drill, catalog: Catalog) -> frozenset[Resource]:
    """What a drill's faults hit: each component where it lives, and explicit pod targets."""
    resolved = resolve(drill, catalog, run_id="schedule")
    out: set[Resource] = set()
    for fault in resolved.faults:
        where = fault.target.namespace or "local"
        out.add((where, "component", fault.component))
        for pod in fault.target.pods:
            out.add((where, "pod", pod))
        if fault.target.labels:
            out.add((where, "selector", ",".join(f"{k}={v}" for k, v in sorted(fault.target.labels.items()))))
        if fault.peer is not None and fault.peer.namespace:  # a network fault's client side is hit too
            out.update((fault.peer.namespace, "pod", pod) for pod in fault.peer.pods)
            if fault.peer.labels:
                labels = ",".join(f"{k}={v}" for k, v in sorted(fault.peer.labels.items()))
                out.add((fault.peer.namespace, "selector", labels))
    if drill.protections_on is not None:
        # switching protections restarts the application: two such drills never run at once
        out.add(("local", "application", drill.app))
    return frozenset(out)


def planned_s(drill: Drill) -> float:
    """How long a drill takes by its windows: the probe runs through the warm-up before the
    baseline (``windows.warmup``, never judged), then baseline, fault and recovery."""
    w = drill.windows
    return w.warmup + w.baseline + w.fault + w.recovery


def overlaps(a: frozenset[Resource], b: frozenset[Resource]) -> bool:
    return bool(a & b)


def next_startable(
    pending: list[SuiteItem], running: list[frozenset[Resource]], footprint: dict[int, frozenset[Resource]]
) -> SuiteItem | None:
    """The first pending drill (suite order) that overlaps no running drill; None if all would."""
    for item in pending:
        if not any(overlaps(footprint[item.index], r) for r in running):
            return item
    return None


def waves(items: list[SuiteItem], catalog: Catalog, parallel: int) -> list[list[str]]:
    """A preview of the schedule (as if drills took equal time): groups that would start together."""
    footprint = {i.index: resources(i.drill, catalog) for i in items}
    pending, out = list(items), []
    while pending:
        wave: list[SuiteItem] = []
        for item in list(pending):
            if len(wave) >= parallel:
                break
            if not any(overlaps(footprint[item.index], footprint[w.index]) for w in wave):
                wave.append(item)
                pending.remove(item)
        out.append([w.key for w in wave])
    return out
