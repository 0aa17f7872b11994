"""A Chaos Mesh ``Workflow`` (chaos-mesh.org/v1alpha1) that runs drills without mqdrill.

Per drill, a Serial node: a baseline Suspend, then a Parallel node holding the planned chaos
(each embedded as the template's ``podChaos`` / ``networkChaos`` / … spec, its ``deadline`` the
fault window) beside HTTP StatusChecks with ``abortWithStatusCheck``, then a recovery Suspend.
A suite chains its drills in a Serial entry, or with ``parallel`` runs side by side chains of
drills whose footprints do not overlap, by the rule ``mqdrill suite`` schedules with
(``bridge.suite.schedule``: never two faults on one component or target at once).

Chaos Mesh refuses an embedded chaos with its own ``duration`` (the template's ``deadline`` is the
hard end, enforced by the controller whether or not anyone watches), so it is dropped here.
"""

from __future__ import annotations

import hashlib
from typing import Any

from bridge.engines.base import MANAGED_BY_LABEL, MANAGED_BY_VALUE, RUN_ID_LABEL
from bridge.errors import UnsupportedCombination
from bridge.export.source import PlannedDrill
from bridge.export.steady import SteadyCheck, checks
from bridge.spec.catalog import load_catalog
from bridge.spec.units import format_duration
from bridge.suite.schedule import Resource, resources

API_VERSION = "chaos-mesh.org/v1alpha1"
# templateType -> the Template field that embeds its spec (controller-gen's JSON names).
CHAOS_FIELDS = {
    "PodChaos": "podChaos",
    "NetworkChaos": "networkChaos",
    "StressChaos": "stressChaos",
    "IOChaos": "ioChaos",
    "JVMChaos": "jvmChaos",
    "TimeChaos": "timeChaos",
    "DNSChaos": "dnsChaos",
    "HTTPChaos": "httpChaos",
}
ENTRY = "entry"
PREFIX_MAX = 36  # template names stay under 46 characters: room for the suffix Chaos Mesh adds to node names


def _prefix(index: int, d: PlannedDrill, suite: bool) -> str:
    name = d.name[: PREFIX_MAX - 3].rstrip("-")
    return f"{index + 1:02d}-{name}" if suite else name


def _chaos(name: str, obj: Any, deadline: str) -> dict[str, Any]:
    kind = str(obj["kind"])
    if kind not in CHAOS_FIELDS:
        raise UnsupportedCombination(f"a Chaos Mesh Workflow cannot embed a {kind}")
    spec = {k: v for k, v in dict(obj["spec"]).items() if k != "duration"}
    return {"name": name, "templateType": kind, "deadline": deadline, CHAOS_FIELDS[kind]: spec}


def _status_check(name: str, check: SteadyCheck, window: str) -> dict[str, Any]:
    return {
        "name": name,
        "templateType": "StatusCheck",
        "deadline": window,
        "abortWithStatusCheck": True,
        "statusCheck": {
            "mode": "Continuous",
            "type": "HTTP",
            "duration": window,
            "intervalSeconds": check.interval_s,
            "timeoutSeconds": check.timeout_s,
            "failureThreshold": check.failure_threshold,
            "successThreshold": 1,
            "http": {"url": check.url, "method": "GET", "criteria": {"statusCode": str(check.status)}},
        },
    }


def drill_templates(p: str, d: PlannedDrill, url: str | None) -> list[dict[str, Any]]:
    """The templates of one drill; the first is its Serial node, named ``p``."""
    w = d.drill.windows
    fault = format_duration(w.fault)
    chaos = [_chaos(f"{p}-chaos-{j}", obj, fault) for j, obj in enumerate(o for plan in d.plans for o in plan.objects)]
    status = [_status_check(f"{p}-check-{k}", c, fault) for k, c in enumerate(checks(d.drill, url))]
    return [
        {"name": p, "templateType": "Serial", "children": [f"{p}-baseline", f"{p}-fault", f"{p}-recovery"]},
        {"name": f"{p}-baseline", "templateType": "Suspend", "deadline": format_duration(w.baseline)},
        {"name": f"{p}-fault", "templateType": "Parallel", "children": [t["name"] for t in status + chaos]},
        *status,
        *chaos,
        {"name": f"{p}-recovery", "templateType": "Suspend", "deadline": format_duration(w.recovery)},
    ]


def chains(footprints: list[frozenset[Resource]]) -> list[list[int]]:
    """Drill indexes grouped so that drills whose footprints overlap (transitively) share a chain;
    each chain keeps the suite's order, and chains are ordered by their first drill."""
    groups: list[tuple[set[Resource], list[int]]] = []
    for i, footprint in enumerate(footprints):
        joined = [g for g in groups if g[0] & footprint]
        merged: tuple[set[Resource], list[int]] = (set(footprint), [])
        for g in joined:
            merged[0].update(g[0])
            merged[1].extend(g[1])
            groups.remove(g)
        merged[1].append(i)
        merged[1].sort()
        groups.append(merged)
    return sorted((g[1] for g in groups), key=lambda idx: idx[0])


def _entry(prefixes: list[str], drills: list[PlannedDrill], parallel: bool) -> list[dict[str, Any]]:
    if not parallel:
        return [{"name": ENTRY, "templateType": "Serial", "children": prefixes}]
    out: list[dict[str, Any]] = []
    children: list[str] = []
    catalog = load_catalog()
    footprints = [resources(d.planned_as, catalog) for d in drills]  # what `mqdrill suite` schedules by
    for k, chain in enumerate(chains(footprints)):
        if len(chain) == 1:
            children.append(prefixes[chain[0]])
            continue
        children.append(f"chain-{k + 1}")
        out.append({"name": f"chain-{k + 1}", "templateType": "Serial", "children": [prefixes[i] for i in chain]})
    return [{"name": ENTRY, "templateType": "Parallel", "children": children}, *out]


def workflow_name(name: str, run_id: str) -> str:
    """``mqdrill-<name>-<6 hex of the run id>``: each export is its own Workflow, since Chaos Mesh
    does not run a finished Workflow again when the same one is applied twice."""
    digest = hashlib.sha1(run_id.encode()).hexdigest()[:6]
    return f"mqdrill-{name[:45].rstrip('-')}-{digest}"


def workflow(
    drills: list[PlannedDrill],
    *,
    name: str,
    run_id: str,
    suite: bool,
    url: str | None = None,
    parallel: bool = False,
    source: str = "",
) -> dict[str, Any]:
    """The Workflow object for the planned drills (all planned with engine chaosmesh)."""
    prefixes = [_prefix(i, d, suite) for i, d in enumerate(drills)]
    templates: list[dict[str, Any]] = []
    if suite:
        templates += _entry(prefixes, drills, parallel)
    for p, d in zip(prefixes, drills, strict=True):
        templates += drill_templates(p, d, url)
    namespace = next(str(o["metadata"]["namespace"]) for d in drills for p in d.plans for o in p.objects)
    return {
        "apiVersion": API_VERSION,
        "kind": "Workflow",
        "metadata": {
            "name": workflow_name(name, run_id),
            "namespace": namespace,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE, RUN_ID_LABEL: run_id},
            "annotations": {
                "mqdrill.io/source": source,
                "mqdrill.io/drills": ", ".join(d.name for d in drills),
            },
        },
        "spec": {"entry": ENTRY if suite else prefixes[0], "templates": templates},
    }
