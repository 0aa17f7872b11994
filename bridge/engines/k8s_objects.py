"""What the two custom-resource engines (Chaos Mesh, the chaosblade-operator) share.

Both create labelled objects, wait (bounded, polling) until a controller reports them
injected, delete them, and wait until the controller reports them recovered or they are gone.
Only how an object's status is read differs; :class:`ObjectEngine` leaves that to its
subclasses. Every failure after the first object exists takes back what was created.

Waits are sized from the fault: confirming an injection never waits longer than the fault
lasts (after its ``duration`` there is nothing left to confirm), nor does confirming a
recovery; both are capped by the engine's ``confirm_timeout_s`` / ``recover_timeout_s`` and
have a floor for slow clusters. A failure the controller reports ends the wait at once, in the
controller's words.

Recovery ends with the objects gone. One stuck in deletion on its finalizer is released
(``metadata.finalizers`` cleared, within :data:`RELEASE_WAIT_S`) in two cases only: the user
asked for force-clean, or the controller's own status says nothing is left injected (recovered,
or its apply failed and it never injected), so there is nothing left for it to restore.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from bridge.engines.base import (
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    RUN_ID_LABEL,
    EngineName,
    Fault,
    FaultState,
    FaultStatus,
    Handle,
    Plan,
)
from bridge.engines.waiting import Clock, SystemClock, retry, wait_until
from bridge.errors import InjectionError, KubernetesError, MqdrillError, RecoveryError, UnsupportedCombination
from bridge.k8s import CrdMissing, CustomResource, JsonObject, Kube, KubeOptions, KubernetesUnavailable

CHAOS_MESH_GROUP = "chaos-mesh.org"
CHAOS_MESH_KINDS: dict[str, str] = {
    "PodChaos": "podchaos",
    "NetworkChaos": "networkchaos",
    "StressChaos": "stresschaos",
    "IOChaos": "iochaos",
    "TimeChaos": "timechaos",
    "DNSChaos": "dnschaos",
    "HTTPChaos": "httpchaos",
    "JVMChaos": "jvmchaos",
}
CHAOSBLADE = CustomResource("chaosblade.io", "v1alpha1", "chaosblades", "ChaosBlade", namespaced=False)

# Floors of the waits (a loaded cluster's controller needs a few seconds even for a short fault),
# and how long a released finalizer may take to let the object go.
MIN_CONFIRM_S = 10.0
# A controller that just got its API server back re-lists before it acts (Chaos Mesh v2.8.3 took
# more than 20 s after an API server restart): the recovery wait never goes below this.
MIN_RECOVER_S = 45.0
RELEASE_WAIT_S = 10.0
RELEASE_PATCH: dict[str, Any] = {"metadata": {"finalizers": None}}


def resource_for(api_version: str, kind: str) -> CustomResource:
    """The API location of a chaos kind mqdrill creates; anything else is refused."""
    group, _, version = api_version.partition("/")
    if group == CHAOS_MESH_GROUP and kind in CHAOS_MESH_KINDS:
        return CustomResource(group, version, CHAOS_MESH_KINDS[kind], kind)
    if group == CHAOSBLADE.group and kind == CHAOSBLADE.kind:
        return CustomResource(group, version, CHAOSBLADE.plural, kind, namespaced=False)
    raise UnsupportedCombination(f"mqdrill does not create {kind} ({api_version}) objects")


@dataclass(frozen=True)
class ObjectRef:
    """One created object, as recorded in a :class:`Handle` (and so in the ledger)."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    @property
    def resource(self) -> CustomResource:
        return resource_for(self.api_version, self.kind)

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.resource.plural}/{where}{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "namespace": self.namespace,
        }

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> ObjectRef:
        return cls(str(raw["apiVersion"]), str(raw["kind"]), str(raw["name"]), raw.get("namespace"))

    @classmethod
    def of(cls, obj: Mapping[str, Any]) -> ObjectRef:
        meta = obj.get("metadata", {})
        return cls(str(obj["apiVersion"]), str(obj["kind"]), str(meta["name"]), meta.get("namespace"))


def refs_of(handle: Handle) -> list[ObjectRef]:
    return [ObjectRef.from_json(r) for r in handle.data.get("objects", [])]


def check_labels(obj: Mapping[str, Any], run_id: str) -> None:
    """Refuse an object that `mqdrill recover` could not find again (DESIGN.md safety rules)."""
    labels = obj.get("metadata", {}).get("labels") or {}
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY_VALUE or labels.get(RUN_ID_LABEL) != run_id:
        name = obj.get("metadata", {}).get("name")
        raise InjectionError(
            f"refusing to create {obj.get('kind')} {name!r}: it must carry labels "
            f"{MANAGED_BY_LABEL}={MANAGED_BY_VALUE} and {RUN_ID_LABEL}={run_id}"
        )


def finalizer_report(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata", {})
    finalizers = meta.get("finalizers") or []
    if not finalizers:
        return "no finalizers"
    since = meta.get("deletionTimestamp")
    return f"finalizers still held: {', '.join(finalizers)}" + (f" (deletion requested at {since})" if since else "")


class ObjectEngine:
    """Create → confirm → delete → confirm, for engines whose faults are custom objects."""

    name: EngineName
    resources: tuple[CustomResource, ...] = ()  # what list_leftovers searches

    def __init__(
        self,
        kube: Kube | None = None,
        *,
        kubeconfig: str | None = None,
        context: str | None = None,
        namespace: str | None = None,
        clock: Clock | None = None,
        confirm_timeout_s: float = 60.0,
        recover_timeout_s: float = 60.0,
        poll_s: float = 2.0,
        attempts: int = 5,
        retry_delay_s: float = 2.0,
        force_clean: bool = False,
        planner: Callable[[Fault], Plan] | None = None,
        recover_wait_s: float | None = None,
    ) -> None:
        self._kube = kube
        self._options = KubeOptions(kubeconfig=kubeconfig, context=context, namespace=namespace)
        self.clock = clock or SystemClock()
        self.confirm_timeout_s = confirm_timeout_s
        self.recover_timeout_s = recover_timeout_s
        self.poll_s = poll_s
        self.attempts = attempts
        self.retry_delay_s = retry_delay_s
        self.force_clean = force_clean
        self._planner = planner
        # a fixed recovery wait (`mqdrill recover --wait`): a leftover's controller may just have
        # got its API server back, so the wait is not sized from the fault's duration
        self._recover_wait_s = recover_wait_s

    @property
    def kube(self) -> Kube:
        """The cluster connection, made on first use (so `mqdrill plan` never needs a cluster)."""
        if self._kube is None:
            self._kube = Kube.connect(self._options)
        return self._kube

    # -- what subclasses say about their kind's status --------------------------------------

    def injected(self, obj: JsonObject) -> bool:
        raise NotImplementedError

    def recovered(self, obj: JsonObject) -> bool:
        raise NotImplementedError

    def failure(self, obj: JsonObject) -> str | None:
        """A reason the controller gave up, read from the object's status (stops the wait early)."""
        return None

    def reported_failure(self, obj: JsonObject) -> str | None:
        """A failure the controller reported anywhere (status, or its Events); defaults to :meth:`failure`."""
        return self.failure(obj)

    def never_injected(self, obj: JsonObject) -> bool:
        """The controller's status says its apply failed and nothing was injected: releasing the
        object's finalizer cannot leave a fault behind. Engines that cannot tell say ``False``."""
        return False

    def describe(self, obj: JsonObject) -> str:
        return "no status yet" if not obj.get("status") else str(obj.get("status"))[:200]

    def force_clean_patch(self) -> dict[str, Any]:
        """What force-clean writes: no finalizers (the only thing every controller build obeys)."""
        return dict(RELEASE_PATCH)

    # -- waits sized from the fault ---------------------------------------------------------

    def confirm_wait_s(self, duration_s: float | None) -> float:
        if not duration_s:
            return self.confirm_timeout_s
        return min(self.confirm_timeout_s, max(MIN_CONFIRM_S, float(duration_s)))

    def recover_wait_s(self, duration_s: float | None) -> float:
        if self._recover_wait_s is not None:
            return self._recover_wait_s
        if not duration_s:
            return self.recover_timeout_s
        return min(self.recover_timeout_s, max(MIN_RECOVER_S, float(duration_s)))

    # -- the engine contract ----------------------------------------------------------------

    def plan(self, fault: Fault) -> Plan:
        if self._planner is not None:
            return self._planner(fault)
        from bridge.engines.planning import plan_fault  # the planners import the catalog: only when asked
        from bridge.spec.catalog import load_catalog

        return plan_fault(fault, load_catalog())

    def planned_handle(self, plan: Plan) -> Handle:
        """The handle :meth:`inject` will return, known before anything is created: the ledger
        records it first, so an object whose rollback fails is still found by `mqdrill recover`."""
        refs = [ObjectRef.of(self._with_namespace(o)) for o in plan.objects]
        return self._handle(plan.fault.run_id, refs, plan.fault.duration_s)

    def inject(self, plan: Plan) -> Handle:
        run_id, duration = plan.fault.run_id, plan.fault.duration_s
        for obj in plan.objects:
            check_labels(obj, run_id)
        created: list[ObjectRef] = []
        try:
            for res in {resource_for(o["apiVersion"], o["kind"]) for o in plan.objects}:
                self._call(partial(self.kube.require, res))
            for obj in plan.objects:
                created.append(self._create(obj, run_id))
            handle = self._handle(run_id, created, duration)
            self._confirm(created, self.confirm_wait_s(duration))
        except MqdrillError as exc:
            if not created:
                raise
            outcome = self._rollback(self._handle(run_id, created, duration))
            raise InjectionError(f"{exc} — {outcome}") from exc
        return handle

    def status(self, handle: Handle) -> FaultState:
        states: list[FaultStatus] = []
        for ref in refs_of(handle):
            obj = self._get(ref)
            if obj is None or self.recovered(obj):
                states.append("recovered")
            elif self.injected(obj):
                states.append("injected")
            else:
                states.append("unknown")
        if states and all(s == states[0] for s in states):
            return FaultState(states[0], f"{len(states)} object(s) {states[0]}")
        return FaultState("partial" if states else "unknown", ", ".join(states))

    def recover(self, handle: Handle) -> None:
        refs = refs_of(handle)
        failures: list[str] = []
        for ref in refs:
            try:
                self._call(partial(self.kube.delete, ref.resource, ref.name, namespace=ref.namespace))
            except KubernetesError as exc:
                failures.append(f"{ref}: delete failed: {exc}")
        if failures:
            raise RecoveryError(
                "could not delete every chaos object; run `mqdrill recover` once the API server answers: "
                + "; ".join(failures),
                leftovers=[str(r) for r in refs],
            )
        wait_s = self.recover_wait_s(handle.data.get("duration_s"))
        try:
            left = self._wait_recovered(refs, wait_s)
            release = [(ref, obj) for ref, obj in left if self.force_clean or self._releasable(obj)]
            if release:
                for ref, _ in release:
                    self._release(ref)
                released = {ref for ref, _ in release}
                left = [(r, o) for r, o in left if r not in released]
                left += self._wait_recovered(sorted(released, key=str), RELEASE_WAIT_S)
        except KubernetesError as exc:
            raise RecoveryError(
                f"deleted, but could not confirm the recovery ({exc}); run `mqdrill recover` once the API "
                "server answers",
                leftovers=[str(r) for r in refs],
            ) from exc
        if left:
            hint = "" if self.force_clean else " (ask for force-clean only if the controller is gone for good)"
            raise RecoveryError(
                f"not confirmed recovered within {wait_s:g}s: "
                + "; ".join(f"{ref}: {self._why_left(obj)}" for ref, obj in left)
                + hint,
                leftovers=[str(ref) for ref, _ in left],
            )

    # -- leftovers for `mqdrill recover` ----------------------------------------------------

    def list_leftovers(self, run_id: str | None = None, *, namespace: str | None = None) -> list[ObjectRef]:
        """Every object mqdrill created (optionally of one run), across namespaces unless one is named."""
        labels = {MANAGED_BY_LABEL: MANAGED_BY_VALUE}
        if run_id:
            labels[RUN_ID_LABEL] = run_id
        found: list[ObjectRef] = []
        for res in self.resources:
            try:
                items = self.kube.list_objects(
                    res, namespace=namespace, labels=labels, all_namespaces=namespace is None
                )
            except CrdMissing:
                continue  # a kind this cluster does not serve holds no leftover
            found += [ObjectRef.of({"apiVersion": res.api_version, "kind": res.kind, **o}) for o in items]
        return found

    def delete_leftovers(self, run_id: str | None = None, *, namespace: str | None = None) -> list[ObjectRef]:
        """Delete what :meth:`list_leftovers` finds and confirm it; return what was removed."""
        refs = self.list_leftovers(run_id=run_id, namespace=namespace)
        if refs:
            self.recover(self._handle(run_id or "leftovers", refs))
        return refs

    # -- internals ---------------------------------------------------------------------------

    def _handle(self, run_id: str, refs: Sequence[ObjectRef], duration_s: float | None = None) -> Handle:
        data: dict[str, Any] = {"objects": [r.to_json() for r in refs]}
        if duration_s:
            data["duration_s"] = duration_s
        return Handle(engine=self.name, run_id=run_id, ref=", ".join(str(r) for r in refs), data=data)

    def _with_namespace(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        body = dict(obj)
        res = resource_for(obj["apiVersion"], obj["kind"])
        if res.namespaced and not body.get("metadata", {}).get("namespace"):
            body["metadata"] = {**body["metadata"], "namespace": self.kube.namespace}
        return body

    def _get(self, ref: ObjectRef) -> JsonObject | None:
        found: JsonObject | None = self._call(partial(self.kube.get, ref.resource, ref.name, namespace=ref.namespace))
        return found

    def _call(self, action: Callable[[], Any]) -> Any:
        """Retry while the API server is unreachable: a restarting server must not lose a recovery."""
        return retry(
            action,
            attempts=self.attempts,
            delay_s=self.retry_delay_s,
            clock=self.clock,
            retry_on=(KubernetesUnavailable,),
        )

    def _create(self, obj: Mapping[str, Any], run_id: str) -> ObjectRef:
        res = resource_for(obj["apiVersion"], obj["kind"])
        body = self._with_namespace(obj)
        try:
            created = self._call(lambda: self.kube.create(res, body))
        except KubernetesError as exc:
            if exc.status != 409:
                raise
            # Idempotent: a retry of our own create (or a second inject of the same plan) is fine.
            ref = ObjectRef.of(body)
            existing = self.kube.get(res, ref.name, namespace=ref.namespace)
            labels = (existing or {}).get("metadata", {}).get("labels") or {}
            if labels.get(RUN_ID_LABEL) != run_id:
                raise InjectionError(f"{ref} already exists and does not belong to run {run_id}") from exc
            return ref
        return ObjectRef.of({"apiVersion": body["apiVersion"], "kind": body["kind"], **created})

    def _confirm(self, refs: Sequence[ObjectRef], timeout_s: float) -> None:
        Seen = list[tuple[ObjectRef, JsonObject | None, str | None]]

        def observe() -> Seen:
            seen: Seen = []
            for r in refs:
                obj = self._get(r)
                why = None if obj is None or self.injected(obj) else self.reported_failure(obj)
                seen.append((r, obj, why))
            return seen

        def settled(seen: Seen) -> bool:
            # one failure is enough: the drill cannot go on, and waiting would only delay the rollback
            return any(why for _, _, why in seen) or all(o is not None and self.injected(o) for _, o, _ in seen)

        ok, seen = wait_until(observe, settled, timeout_s=timeout_s, poll_s=self.poll_s, clock=self.clock)
        failed = [f"{r}: {why}" for r, _, why in seen if why]
        if failed:
            raise InjectionError("the controller reported a failed injection: " + "; ".join(failed))
        if not ok:
            pending = [
                f"{r}: {'gone' if o is None else self.describe(o)}"
                for r, o, _ in seen
                if o is None or not self.injected(o)
            ]
            raise InjectionError(f"injection not confirmed within {timeout_s:g}s: " + "; ".join(pending))

    def _wait_recovered(self, refs: Sequence[ObjectRef], timeout_s: float) -> list[tuple[ObjectRef, JsonObject]]:
        """Wait until every object is gone (or safe to release); the ones still there, as last seen.

        A deleted object that the controller reports recovered, or never injected, but still
        holds its finalizer ends the wait early: there is nothing left for the controller to
        undo, and the caller releases it.
        """

        def observe() -> list[tuple[ObjectRef, JsonObject | None]]:
            return [(r, self._get(r)) for r in refs]

        def done(seen: list[tuple[ObjectRef, JsonObject | None]]) -> bool:
            return all(o is None or self._releasable(o) for _, o in seen)

        _, seen = wait_until(observe, done, timeout_s=timeout_s, poll_s=self.poll_s, clock=self.clock)
        return [(r, o) for r, o in seen if o is not None]

    def _release(self, ref: ObjectRef) -> None:
        """Clear the finalizers of an object stuck in deletion (gone meanwhile: nothing to do)."""
        patch = self.force_clean_patch()
        try:
            self._call(partial(self.kube.patch, ref.resource, ref.name, patch, namespace=ref.namespace))
        except KubernetesError as exc:
            if exc.status != 404:
                raise

    def _releasable(self, obj: JsonObject) -> bool:
        """In deletion, and the controller's status says nothing is left injected."""
        deleting = bool(obj.get("metadata", {}).get("deletionTimestamp"))
        return deleting and (self.recovered(obj) or self.never_injected(obj))

    def _why_left(self, obj: JsonObject) -> str:
        failure = self.failure(obj)
        return finalizer_report(obj) + (f"; the controller reports: {failure}" if failure else "")

    def _rollback(self, handle: Handle) -> str:
        try:
            self.recover(handle)
        except MqdrillError as exc:
            return f"rolling back failed too: {exc}"
        return f"rolled back (deleted {handle.ref})"
