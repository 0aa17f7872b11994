"""Plans for a resolved drill, whatever the engine: the one entry point `plan` and `export` use."""

from __future__ import annotations

from bridge.engines import blade_plan, chaosblade_plan, chaosmesh_plan, local_plan
from bridge.engines.base import Fault, Plan
from bridge.spec.catalog import Catalog
from bridge.spec.resolve import ResolvedDrill


def plan_fault(fault: Fault, catalog: Catalog, index: int = 0, *, kubeconfig: str | None = None) -> Plan:
    """The plan of one fault with its engine; raises UnsupportedCombination where none exists."""
    if fault.engine == "chaosmesh":
        return chaosmesh_plan.plan(fault, catalog, index)
    if fault.engine == "chaosblade":
        return chaosblade_plan.plan(fault, catalog, index)
    if fault.engine == "blade":
        return blade_plan.plan(fault, catalog, index, kubeconfig=kubeconfig)
    return local_plan.plan(fault, catalog, index)


def plan_drill(resolved: ResolvedDrill, catalog: Catalog, *, kubeconfig: str | None = None) -> list[Plan]:
    """One plan per fault of the drill, in cause order."""
    return [plan_fault(f, catalog, i, kubeconfig=kubeconfig) for i, f in enumerate(resolved.faults)]
