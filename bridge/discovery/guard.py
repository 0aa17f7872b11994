"""The selector guard: a target must select only the server (or application) it names.

:func:`check_selector` is the one check, run on listed pods wherever a drill meets a cluster:
before ``discover --write-drills`` writes a drill, in ``validate --cluster`` and ``plan
--cluster``, and in the runner's preflight before any inject, for every Kubernetes engine. It
evaluates the selector itself (equality labels, and pod names when given) against the pods, so
a list that came back wider than asked cannot widen the drill.

Refused, with the pods it would hit:
- a matched pod that does not run the component (a name server in a broker drill, nginx, Kafka,
  the dashboard), or whose named container is not the component;
- a pod that also runs another RocketMQ server (name server and broker in one pod) when the
  fault hits the whole pod (pod kill, pod failure, network faults share the pod's network) or no
  container is named;
- pods of more than one workload (controller): the drill names one server;
- no pod at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bridge.discovery.model import SERVER_KINDS
from bridge.discovery.servers import is_admin, pod_servers
from bridge.discovery.workloads import Pod, controller_of, labels_of, matches, name_of, namespace_of
from bridge.engines.base import Fault

# Causes whose effect reaches every container of the pod, whatever container the drill names.
POD_WIDE_CAUSES = frozenset({"pod-kill", "pod-failure", "network-delay", "network-loss", "network-drop"})


@dataclass(frozen=True)
class Refusal:
    """Why a selector may not be used, and the pods it would wrongly hit."""

    reason: str
    pods: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.reason


def _what(pod: Pod) -> str:
    containers = list((pod.get("spec") or {}).get("containers") or [])
    labels = labels_of(pod)
    kinds = sorted({k for ks in pod_servers(labels, containers).values() for k in ks})
    if kinds:
        return "runs RocketMQ " + " + ".join(kinds)
    if any(is_admin(labels, c) for c in containers):
        return "a RocketMQ admin tool"
    images = ", ".join(str(c.get("image", "?")) for c in containers)
    return f"not a RocketMQ server: {images}"


def _foreign(pod: Pod, component: str, container: str | None, cause: str | None) -> str | None:
    """Why this matched pod is outside the component the drill names, or None when it is inside."""
    containers = list((pod.get("spec") or {}).get("containers") or [])
    servers = pod_servers(labels_of(pod), containers)
    here = {k for ks in servers.values() for k in ks}
    if component not in SERVER_KINDS:  # a client application: it must run no RocketMQ server or tool
        if here or any(is_admin(labels_of(pod), c) for c in containers):
            return _what(pod)
        if container and container not in {str(c.get("name")) for c in containers}:
            return f"has no container {container!r}"
        return None
    if component not in here:
        return _what(pod)
    if container is not None and container not in {str(c.get("name")) for c in containers}:
        return f"has no container {container!r} (the {component} runs in {', '.join(sorted(servers))})"
    if container is not None and component not in servers.get(container, ()):
        return f"container {container!r} is not the {component} (the {component} runs in another container)"
    others = here - {component}
    if not others:
        return None
    same_container = container is not None and set(servers.get(container, ())) - {component}
    if container is None or same_container or (cause in POD_WIDE_CAUSES):
        how = f"{cause} hits the whole pod" if cause in POD_WIDE_CAUSES else "no single container is named"
        return f"also runs RocketMQ {' + '.join(sorted(others))} ({how})"
    return None


def check_selector(
    pods: Iterable[Pod],
    *,
    namespace: str,
    labels: Mapping[str, str],
    component: str,
    pod_names: Sequence[str] = (),
    container: str | None = None,
    cause: str | None = None,
) -> Refusal | None:
    """None when the selector picks pods of one workload that all are ``component``; else the refusal."""
    sel = ",".join(f"{k}={v}" for k, v in sorted(labels.items())) or "no labels"
    where = f"selector {sel}" + (f" and pods {', '.join(pod_names)}" if pod_names else "") + f" in {namespace}"
    pod_list = list(pods)
    matched = [
        p
        for p in pod_list
        if namespace_of(p) == namespace
        and (matches(labels_of(p), labels) if labels else bool(pod_names))
        and (not pod_names or name_of(p) in pod_names)
    ]
    if not matched:
        return Refusal(f"the {where} matches no pod")
    foreign = [(name_of(p), why) for p in matched if (why := _foreign(p, component, container, cause))]
    if foreign:
        listed = "; ".join(f"{n} ({why})" for n, why in foreign)
        if all(why.startswith("also runs") for _, why in foreign):
            hint = "name targets.container and use a cause that stays in it (container-kill, cpu-full, disk-fill)"
        else:
            hint = "narrow targets.labels (e.g. with app.kubernetes.io/component or app.kubernetes.io/instance)"
        return Refusal(
            f"the {where} would hit pods outside the {component} it names: {listed}; {hint}",
            tuple(n for n, _ in foreign),
        )
    owners: dict[str, list[str]] = {}
    for p in matched:
        kind, name = controller_of(p)
        owners.setdefault(f"{kind}/{name}", []).append(name_of(p))
    if len(owners) > 1:
        listed = "; ".join(f"{o}: {', '.join(sorted(ps))}" for o, ps in sorted(owners.items()))
        return Refusal(
            f"the {where} spans {len(owners)} workloads ({listed}); a drill names one {component}: "
            "narrow targets.labels to one of them",
            tuple(sorted(name_of(p) for p in matched)),
        )
    return None


def check_fault(pods: Iterable[Pod], fault: Fault) -> Refusal | None:
    """:func:`check_selector` for one resolved fault, and for the client side of a network fault
    where the drill names it (``targets.client``: one client application, no RocketMQ server);
    None for targets that are not Kubernetes pods. ``pods`` must include the client's namespace."""
    t = fault.target
    if t.namespace is None or not (t.labels or t.pods):
        return None
    pod_list = list(pods)
    refusal = check_selector(
        pod_list,
        namespace=t.namespace,
        labels=t.labels,
        component=fault.component,
        pod_names=t.pods,
        container=t.container,
        cause=fault.cause,
    )
    peer = fault.peer
    if refusal is not None or peer is None or peer.namespace is None:
        return refusal
    found = check_selector(
        pod_list, namespace=peer.namespace, labels=peer.labels, component="client", pod_names=peer.pods
    )
    return None if found is None else Refusal(f"targets.client: {found.reason}", found.pods)


def peer_selector(fault: Fault) -> tuple[str, dict[str, str]] | None:
    """(namespace, labels) to list the client-side pods of a fault with, when the drill names them."""
    peer = fault.peer
    if peer is None or peer.namespace is None:
        return None
    return peer.namespace, dict(peer.labels)
