"""Ready-made drills from a discovered topology: one per client × server it reaches × scenario.

Each drill targets the server by the selector discovery proved (or by its pods' stable names),
names the server's container, uses the first of the scenario's causes that the engine supports
*and* that the selector guard accepts on the listed pods (a pod holding a name server and a
broker gets a container kill, not a pod kill), and judges the client. A drill is validated with
the drill model and guarded before it is drafted; what gets no drill is listed with the reason.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bridge.discovery.guard import check_fault
from bridge.discovery.model import Pair, Topology, Workload
from bridge.errors import MqdrillError
from bridge.spec.catalog import Catalog
from bridge.spec.models import Drill
from bridge.spec.resolve import resolve

JUDGED_APPS = ("frontend", "cartservice")  # the applications the probes know how to exercise
NETWORK_CAUSES = frozenset({"network-delay", "network-loss", "network-drop"})


@dataclass(frozen=True)
class DrillDraft:
    file_name: str
    document: dict[str, Any]


@dataclass(frozen=True)
class Drafts:
    drills: tuple[DrillDraft, ...]
    skipped: tuple[str, ...]  # why a client × server × scenario got no drill


def _slug(text: str, limit: int) -> str:
    s = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    if len(s) <= limit:
        return s
    digest = hashlib.sha1(s.encode()).hexdigest()[:6]  # truncated names stay unique
    return f"{s[: limit - 7].rstrip('-')}-{digest}"


def file_name(client: Workload, server: Workload, scenario: str, engine: str) -> str:
    """``<client ns>.<client>.<scenario>.<server ns>.<server>.<engine>.yaml``: unique per pair and scenario."""
    parts = [client.namespace, client.name, scenario, server.namespace, server.name, engine]
    return ".".join(_slug(p, 63) for p in parts) + ".yaml"


def _frontend_url(topology: Topology, namespace: str) -> str | None:
    for c in topology.clients:
        if c.name == "frontend" and c.namespace == namespace:
            port = next((p for p in c.ports if p), 8080)
            return f"http://frontend.{namespace}.svc.cluster.local:{port}"
    return None


def _document(pair: Pair, scenario: str, cause: str, engine: str, frontend_url: str | None) -> dict[str, Any]:
    client, server = pair.client, pair.server
    targets: dict[str, Any] = {"namespace": server.namespace}
    if server.labels:
        targets["labels"] = dict(server.labels)
    else:
        targets["pods"] = list(server.target_pods[:1])  # one named pod: within safety.max_pods
    if server.container:
        targets["container"] = server.container
    doc: dict[str, Any] = {
        "apiVersion": "mqdrill/v1",
        "kind": "Drill",
        "name": _slug(f"{client.namespace}-{client.name}-{scenario}-{server.name}", 63),
        "description": (
            f"discovered: {client.ref} ({client.controller}) uses {server.kind} {server.ref} "
            f"({server.controller}) because {pair.why}"
        )[:2000],
        "scenario": scenario,
        "causes": [cause],
        "engine": engine,
        "app": client.name,
        "channel": "rocketmq",
        "targets": targets,
    }
    if frontend_url:
        doc["steady_state"] = {"probe": {"frontend_url": frontend_url}}
    return doc


def _first_accepted(
    pair: Pair, scenario: str, catalog: Catalog, engine: str, topology: Topology
) -> tuple[dict[str, Any] | None, str]:
    """The drill with the first cause the engine supports and the guard accepts, or why there is none."""
    why = f"the engine {engine} supports none of its causes"
    for cause in catalog.scenario(scenario).causes:
        if engine not in catalog.causes[cause].engines:
            continue
        if cause in NETWORK_CAUSES and pair.client.namespace != pair.server.namespace:
            why = f"{cause}: the engines look for the client side of a network fault in the server's namespace only"
            continue
        doc = _document(pair, scenario, cause, engine, _frontend_url(topology, pair.client.namespace))
        try:
            faults = resolve(Drill.model_validate(doc), catalog, run_id="discover").faults
        except ValidationError as exc:
            return None, str(exc.errors()[0]["msg"])
        except MqdrillError as exc:
            why = str(exc)
            continue
        refusals = [r for f in faults if (r := check_fault(topology.pods, f)) is not None]
        if not refusals:
            return doc, ""
        why = f"{cause}: {refusals[0]}"
    return None, why


def draft_drills(topology: Topology, catalog: Catalog, *, engine: str = "chaosmesh") -> Drafts:
    drafts: list[DrillDraft] = []
    skipped: list[str] = []
    for client in topology.clients:
        if client.name not in JUDGED_APPS:
            skipped.append(f"{client.ref}: no probe knows this application (drills judge {', '.join(JUDGED_APPS)})")
            continue
        for pair in topology.servers_of(client):
            server = pair.server
            if not server.labels and not server.target_pods:
                skipped.append(f"{client.ref} × {server.kind} {server.ref}: {server.selector_note}")
                continue
            for scenario in (s.name for s in catalog.scenarios if s.component == server.kind):
                doc, why = _first_accepted(pair, scenario, catalog, engine, topology)
                if doc is None:
                    skipped.append(f"{client.ref} × {server.kind} {server.ref} × {scenario}: {why}")
                    continue
                drafts.append(DrillDraft(file_name(client, server, scenario, engine), doc))
    return Drafts(tuple(drafts), tuple(skipped))
