"""ChaosBlade operator resources (``chaosblade.io/v1alpha1`` ``ChaosBlade``), one per planned fault.

ChaosBlade has no orchestration: applying a file starts every fault in it at once. Each drill's
resources are therefore preceded by a comment with its windows (wait the baseline, apply, delete
after the fault window); each resource also ends by itself through its ``timeout`` matcher.
"""

from __future__ import annotations

from typing import Any

from bridge.export.source import PlannedDrill
from bridge.spec.units import format_duration


def resources(drills: list[PlannedDrill]) -> list[dict[str, Any]]:
    """Every ChaosBlade resource of the drills, in drill and cause order."""
    return [dict(obj) for d in drills for plan in d.plans for obj in plan.objects]


def drill_comment(d: PlannedDrill) -> list[str]:
    """What a reader applying the file by hand must know about one drill."""
    w = d.drill.windows
    names = ", ".join(str(o["metadata"]["name"]) for p in d.plans for o in p.objects)
    causes = ", ".join(p.fault.cause for p in d.plans)
    return [
        f"drill {d.name}: {d.drill.scenario} by {causes} (from {d.source})",
        f"  baseline {format_duration(w.baseline)}, then apply; delete after the fault window "
        f"{format_duration(w.fault)} (kubectl delete chaosblade {names}); recovery {format_duration(w.recovery)}",
        f"  hard end: each resource's timeout matcher ({d.plans[0].fault.duration_s}s) ends it without anyone",
    ]
