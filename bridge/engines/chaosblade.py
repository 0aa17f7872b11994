"""The ChaosBlade engine through the chaosblade-operator: one cluster-scoped ``ChaosBlade`` object.

What the operator writes (chaosblade-operator v1.8): ``status.phase`` goes Initial → Running
(or Error) → Destroying → Destroyed, and ``status.expStatuses[].resStatuses[]`` says, per pod or
container, whether the experiment took (``success``) or why not (``error``).

- injected: phase ``Running`` and every resStatus ``success`` (with at least one resStatus);
- failed: phase ``Error``, or a resStatus with ``success: false`` (no use waiting longer);
- recovered: phase ``Destroyed``, or the object is gone.

The operator holds the finalizer ``finalizer.chaosblade.io`` until it has destroyed the
experiment; the documented way to release a stuck object is to clear ``metadata.finalizers``,
which mqdrill does only when asked (``force_clean``).
"""

from __future__ import annotations

from typing import Any

from bridge.engines.base import EngineName
from bridge.engines.k8s_objects import CHAOSBLADE, ObjectEngine
from bridge.k8s import JsonObject


def res_statuses(obj: JsonObject) -> list[dict[str, Any]]:
    exps = (obj.get("status") or {}).get("expStatuses") or []
    return [r for e in exps for r in e.get("resStatuses") or []]


def phase(obj: JsonObject) -> str:
    return str((obj.get("status") or {}).get("phase") or "")


class ChaosBladeEngine(ObjectEngine):
    """``ChaosBlade`` objects (chaosblade.io/v1alpha1, cluster-scoped)."""

    name: EngineName = "chaosblade"
    resources = (CHAOSBLADE,)

    def injected(self, obj: JsonObject) -> bool:
        statuses = res_statuses(obj)
        return phase(obj) == "Running" and bool(statuses) and all(r.get("success") is True for r in statuses)

    def failure(self, obj: JsonObject) -> str | None:
        exps = (obj.get("status") or {}).get("expStatuses") or []
        errors = [str(e.get("error")) for e in exps if e.get("error")]
        errors += [
            f"{r.get('identifier', '?')}: {r.get('error') or 'failed'}"
            for r in res_statuses(obj)
            if r.get("success") is False
        ]
        if phase(obj) == "Error" or errors:
            return f"phase {phase(obj) or '?'}: " + ("; ".join(errors) or "no detail given")
        return None

    def recovered(self, obj: JsonObject) -> bool:
        return phase(obj) == "Destroyed"

    def describe(self, obj: JsonObject) -> str:
        statuses = res_statuses(obj)
        ok = sum(1 for r in statuses if r.get("success") is True)
        return f"phase {phase(obj) or 'none'}; {ok}/{len(statuses)} resource(s) succeeded"

    def never_injected(self, obj: JsonObject) -> bool:
        # phase Error with no resource that took: the operator applied nothing it must undo
        return phase(obj) == "Error" and not any(r.get("success") is True for r in res_statuses(obj))
