"""The Chaos Mesh engine: namespaced chaos objects (PodChaos, NetworkChaos, …) through the API.

Confirmation follows what the Chaos Mesh controller writes (checked against the real v2.8.3
controller, see docs/kubernetes.md):

- injected: condition ``AllInjected`` is ``"True"`` and every ``status.experiment.containerRecords``
  entry has phase ``Injected`` (and there is at least one: an empty selection injects nothing).
  pod-kill and container-kill are one-shot: they stay "injected" until the object is deleted
  (``AllRecovered`` never turns true while it exists), so their recovery is the deletion;
- recovered: condition ``AllRecovered`` is ``"True"``, or the object is gone;
- failed: a record whose latest event is ``Failed`` (``cannot find daemonIP on node …`` without
  chaos-daemon, ``container … not found``), or a ``Failed to select targets`` / ``Failed to apply
  chaos`` Warning event on the object (``no pod is selected`` is written only there). With the
  controller's namespace filter on, an empty selection in a namespace without the annotation
  ``chaos-mesh.org/inject=enabled`` is reported as such.

The controller holds the finalizer ``chaos-mesh/records`` until every record is recovered. A
failed apply keeps being retried and the deleted object then stays in deletion; the documented
``chaos-mesh.chaos-mesh.org/cleanFinalizer: forced`` annotation was not acted on by v2.8.3 while
it retried, so mqdrill clears ``metadata.finalizers`` instead: by itself when the records show
nothing was ever injected, otherwise only when asked (``force_clean``).
"""

from __future__ import annotations

from typing import Any

from bridge.engines.base import EngineName
from bridge.engines.k8s_objects import CHAOS_MESH_GROUP, CHAOS_MESH_KINDS, ObjectEngine
from bridge.errors import KubernetesError
from bridge.k8s import CustomResource, JsonObject

FORCE_CLEAN_ANNOTATION = "chaos-mesh.chaos-mesh.org/cleanFinalizer"
RECORDS_FINALIZER = "chaos-mesh/records"
FILTER_ANNOTATION = "chaos-mesh.org/inject"
# The controller's Warning events that mean "this will not be injected" (recorder.Failed).
FATAL_EVENT_PREFIXES = ("Failed to select targets", "Failed to apply chaos")
EMPTY_SELECTION = ("no pod is selected", "no target has been selected")
# Failures the controller retries and gets past (an update conflict, a blip of the API server):
# they end nothing.
TRANSIENT = ("the object has been modified", "Operation cannot be fulfilled", "connection refused", "i/o timeout")


def transient(message: str) -> bool:
    return any(t in message for t in TRANSIENT)


def condition(obj: JsonObject, kind: str) -> bool:
    """Whether ``status.conditions`` has ``kind`` with status ``"True"``."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("status")) == "True"
    return False


def records(obj: JsonObject) -> list[dict[str, Any]]:
    experiment = (obj.get("status") or {}).get("experiment") or {}
    return list(experiment.get("containerRecords") or [])


def record_failures(obj: JsonObject) -> list[str]:
    """Each record whose latest event is a failure: ``<pod id>: <the controller's message>``."""
    out = []
    for rec in records(obj):
        events = rec.get("events") or []
        if events and events[-1].get("type") == "Failed" and not transient(str(events[-1].get("message", ""))):
            last = events[-1]
            out.append(f"{rec.get('id', '?')}: {last.get('operation', 'Apply')} failed: {last.get('message', '')}")
    return out


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

    def failure(self, obj: JsonObject) -> str | None:
        failed = record_failures(obj)
        return "; ".join(failed) if failed else None

    def reported_failure(self, obj: JsonObject) -> str | None:
        found = self.failure(obj)
        if found:
            return found
        message = self._fatal_event(obj)
        if message is None:
            return None
        if any(m in message for m in EMPTY_SELECTION):
            hint = self._filter_hint(obj)
            return f"{message}{hint}"
        return message

    def never_injected(self, obj: JsonObject) -> bool:
        recs = records(obj)
        if not recs:  # nothing selected, so nothing injected
            return not condition(obj, "AllInjected")
        return all(int(r.get("injectedCount") or 0) == 0 and r.get("phase") != "Injected" for r in recs) and bool(
            record_failures(obj)
        )

    def describe(self, obj: JsonObject) -> str:
        conds = [f"{c.get('type')}={c.get('status')}" for c in (obj.get("status") or {}).get("conditions") or []]
        recs = records(obj)
        failed = [e.get("message") for r in recs for e in r.get("events") or [] if e.get("type") == "Failed"]
        parts = [f"conditions {', '.join(conds) or 'none'}", f"{len(recs)} record(s)"]
        if not recs:
            parts.append("the selector may match no pod" + self._filter_hint(obj))
        if failed:
            parts.append(f"last failure: {failed[-1]}")
        return "; ".join(parts)

    def force_clean_patch(self) -> dict[str, Any]:
        # The annotation is what Chaos Mesh documents; clearing the finalizers is what works.
        return {"metadata": {"annotations": {FORCE_CLEAN_ANNOTATION: "forced"}, "finalizers": None}}

    # -- what only the API's Events and the namespace say -----------------------------------

    def _fatal_event(self, obj: JsonObject) -> str | None:
        try:
            events = self.kube.events_for(obj)
        except KubernetesError:
            return None  # no permission to read events (or a hiccup): the status wait goes on
        fatal = [
            str(e.get("message") or "")
            for e in events
            if e.get("type") == "Warning"
            and str(e.get("message") or "").startswith(FATAL_EVENT_PREFIXES)
            and not transient(str(e.get("message")))
        ]
        return fatal[-1] if fatal else None

    def _filter_hint(self, obj: JsonObject) -> str:
        """Why a selection may be empty although pods match: Chaos Mesh's namespace filter."""
        namespaces = sorted(self._selected_namespaces(obj))
        missing: list[str] = []
        unknown = False
        for ns in namespaces:
            try:
                found = self.kube.get_namespace(ns)
            except KubernetesError:
                unknown = True
                continue
            annotations = ((found or {}).get("metadata") or {}).get("annotations") or {}
            if found is not None and annotations.get(FILTER_ANNOTATION) != "enabled":
                missing.append(ns)
        if missing:
            return (
                f" — namespace {', '.join(missing)} lacks the annotation {FILTER_ANNOTATION}=enabled, which "
                "Chaos Mesh's namespace filter (controllerManager.enableFilterNamespace) requires: "
                f"kubectl annotate ns {missing[0]} {FILTER_ANNOTATION}=enabled"
            )
        if unknown:
            return (
                f" (if Chaos Mesh runs with its namespace filter on, the namespace needs the annotation "
                f"{FILTER_ANNOTATION}=enabled)"
            )
        return ""

    @staticmethod
    def _selected_namespaces(obj: JsonObject) -> set[str]:
        spec = obj.get("spec") or {}
        found: set[str] = set()
        # the pods hit, and a NetworkChaos's other side (`target`), which may be in another namespace
        for sel in (spec.get("selector") or {}, (spec.get("target") or {}).get("selector") or {}):
            found |= set(sel.get("namespaces") or []) | set((sel.get("pods") or {}).keys())
        if not found and obj.get("metadata", {}).get("namespace"):
            found.add(str(obj["metadata"]["namespace"]))
        return found
