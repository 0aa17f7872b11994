"""Pods grouped into workloads named by their controller, and the selector that picks exactly one.

The controller comes from ``ownerReferences``: a Deployment's pods are owned by a ReplicaSet,
itself owned by the Deployment (read from the ReplicaSet when it could be listed, else from
its name, which is always ``<deployment>-<pod-template-hash>``). Two ReplicaSets of one
Deployment in the middle of a rollout are one workload.

A selector is built from the labels every pod of the workload shares, never from labels that
name one pod or one revision (``pod-template-hash``, ``controller-revision-hash``, …) or that
change on every upgrade (``helm.sh/chart``, ``app.kubernetes.io/version``). It starts from the
labels that say what a pod is (name, instance, component, app) and adds others only while it
still matches pods of another workload; it is accepted only when, evaluated against every pod
of the namespace, it matches exactly the workload's pods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Pod = Mapping[str, Any]

UNSTABLE_LABELS = frozenset(
    {
        "pod-template-hash",
        "rollouts-pod-template-hash",  # Argo Rollouts
        "controller-revision-hash",
        "pod-template-generation",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
        "controller-uid",
        "batch.kubernetes.io/controller-uid",
        "helm.sh/chart",
        "chart",
        "app.kubernetes.io/version",
        "version",
        "security.istio.io/tlsMode",
        "service.istio.io/canonical-revision",
    }
)
IDENTITY_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app",
    "component",
)
MORE_LABELS = ("instance", "release", "k8s-app", "name", "role", "app.kubernetes.io/part-of")


def meta(pod: Pod) -> Mapping[str, Any]:
    return pod.get("metadata") or {}


def labels_of(pod: Pod) -> dict[str, str]:
    return {str(k): str(v) for k, v in (meta(pod).get("labels") or {}).items()}


def name_of(pod: Pod) -> str:
    return str(meta(pod).get("name"))


def namespace_of(pod: Pod) -> str:
    return str(meta(pod).get("namespace") or "default")


def _controller_ref(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    owners = list((obj.get("metadata") or {}).get("ownerReferences") or [])
    return next((o for o in owners if o.get("controller")), owners[0] if owners else None)


def controller_of(pod: Pod, replicasets: Mapping[tuple[str, str], Mapping[str, Any]] | None = None) -> tuple[str, str]:
    """(kind, name) of the controller that owns the pod: Deployment, StatefulSet, …, or (Pod, name)."""
    owner = _controller_ref(pod)
    if owner is None:
        return "Pod", name_of(pod)
    kind, name = str(owner.get("kind")), str(owner.get("name"))
    if kind != "ReplicaSet":
        return kind, name
    rs = (replicasets or {}).get((namespace_of(pod), name))
    if rs is not None:
        top = _controller_ref(rs)
        return (str(top.get("kind")), str(top.get("name"))) if top else ("ReplicaSet", name)
    for label, top_kind in (("pod-template-hash", "Deployment"), ("rollouts-pod-template-hash", "Rollout")):
        h = labels_of(pod).get(label)
        if h and name.endswith(f"-{h}"):
            return top_kind, name[: -len(h) - 1]
    return "ReplicaSet", name


def matches(labels: Mapping[str, str], selector: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def stable_common_labels(pods: Sequence[Pod]) -> dict[str, str]:
    """The labels every pod shares, minus those that name one pod or one revision."""
    common: dict[str, str] | None = None
    for pod in pods:
        labels = {k: v for k, v in labels_of(pod).items() if k not in UNSTABLE_LABELS}
        common = labels if common is None else {k: v for k, v in common.items() if labels.get(k) == v}
    return common or {}


def build_selector(own: Sequence[Pod], namespace_pods: Iterable[Pod]) -> tuple[dict[str, str] | None, list[str]]:
    """(selector, []) selecting exactly ``own`` among ``namespace_pods``; (None, the foreign pods) if none does."""
    mine = {name_of(p) for p in own}
    others = [p for p in namespace_pods if name_of(p) not in mine]
    common = stable_common_labels(own)
    chosen = {k: common[k] for k in IDENTITY_LABELS if k in common}
    rest = [k for k in MORE_LABELS if k in common]
    rest += sorted(k for k in common if k not in chosen and k not in MORE_LABELS)
    while True:
        foreign = [p for p in others if matches(labels_of(p), chosen)] if chosen else others
        if chosen and not foreign:
            return chosen, []
        if not rest:
            return None, sorted(name_of(p) for p in foreign)
        # add the label that leaves the fewest foreign pods (ties: the order above)
        best = min(rest, key=lambda k: sum(1 for p in foreign if labels_of(p).get(k) == common[k]))
        rest.remove(best)
        chosen[best] = common[best]


def pod_ips(pod: Pod) -> list[str]:
    status = pod.get("status") or {}
    ips = [str(i.get("ip")) for i in status.get("podIPs") or [] if i.get("ip")]
    if status.get("podIP") and status["podIP"] not in ips:
        ips.insert(0, str(status["podIP"]))
    return ips
