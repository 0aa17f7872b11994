"""The Chaos Mesh engine: namespaced chaos objects (PodChaos, NetworkChaos, …) through the API.

Confirmation follows what the Chaos Mesh controller writes (v2.x):

- injected: condition ``AllInjected`` is ``"True"`` and every ``status.experiment.containerRecords``
  entry has phase ``Injected`` (and there is at least one: an empty selection injects nothing);
- recovered: condition ``AllRecovered`` is ``"True"``, or the object is gone.

The controller holds the finalizer ``chaos-mesh/records`` until every record is recovered. If it
cannot (the target pod vanished, the daemon is gone), the object stays in deletion for ever. The
documented way out is the annotation ``chaos-mesh.chaos-mesh.org/cleanFinalizer: forced``, which
makes the controller drop the finalizer without recovering; mqdrill sets it only when asked
(``force_clean``), because a fault might then stay injected in a pod.
"""

from __future__ import annotations

from typing import Any

from bridge.engines.base import EngineName
from bridge.engines.k8s_objects import CHAOS_MESH_GROUP, CHAOS_MESH_KINDS, ObjectEngine
from bridge.k8s import CustomResource, JsonObject

FORCE_CLEAN_ANNOTATION = "chaos-mesh.chaos-mesh.org/cleanFinalizer"
RECORDS_FINALIZER = "chaos-mesh/records"


def condition(obj: JsonObject, kind: str) -> bool:
    """Whether ``status.conditions`` has ``kind`` with status ``"True"``."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("status")) == "True"
    return False


def records(obj: JsonObject) -> list[dict[str, Any]]:
    experiment = (obj.get("status") or {}).get("experiment") or {}
    return list(experiment.get("containerRecords") or [])


class ChaosMeshEngine(ObjectEngine):
    """Chaos Mesh custom resources, created in the target namespace."""

    name: EngineName = "chaosmesh"
    resources = tuple(
        CustomResource(CHAOS_MESH_GROUP, "v1alpha1", plural, kind) for kind, plural in CHAOS_MESH_KINDS.items()
    )

    def injected(self, obj: JsonObject) -> bool:
        recs = records(obj)
        return condition(obj, "AllInjected") and bool(recs) and all(r.get("phase") == "Injected" for r in recs)

    def recovered(self, obj: JsonObject) -> bool:
        return condition(obj, "AllRecovered")

    def describe(self, obj: JsonObject) -> str:
        conds = [f"{c.get('type')}={c.get('status')}" for c in (obj.get("status") or {}).get("conditions") or []]
        recs = records(obj)
        failed = [e.get("message") for r in recs for e in r.get("events") or [] if e.get("type") == "Failed"]
        parts = [f"conditions {', '.join(conds) or 'none'}", f"{len(recs)} record(s)"]
        if not recs:
            parts.append("the selector may match no pod")
        if failed:
            parts.append(f"last failure: {failed[-1]}")
        return "; ".join(parts)

    def force_clean_patch(self) -> dict[str, Any]:
        return {"metadata": {"annotations": {FORCE_CLEAN_ANNOTATION: "forced"}}}
