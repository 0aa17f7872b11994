"""Ready-made drills from a discovered topology: one per client × server it reaches × scenario.

Each drill targets the server by the selector discovery proved (or by its pods' stable names),
names the server's container, uses the first of the scenario's causes that the engine supports
*and* that the selector guard accepts on the listed pods (a pod holding a name server and a
broker gets a container kill, not a pod kill), and judges the client with a steady state drawn
from what discovery sees (:func:`steady_state`; the parts only the user knows are listed in the
file's opening comments). A drill is validated with the drill model and guarded before it is
drafted; what gets no drill is listed with the reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from bridge.discovery.guard import check_fault
from bridge.discovery.model import Pair, Topology, Workload
from bridge.errors import MqdrillError
from bridge.spec.base import IDENT
from bridge.spec.catalog import Catalog
from bridge.spec.models import Drill, Slo
from bridge.spec.resolve import CLIENT_CAUSES, resolve

DEMO_APPS = ("frontend", "cartservice")  # the demo shop: its preset probe knows how to exercise them
NETWORK_CAUSES = frozenset({"network-delay", "network-loss", "network-drop"})


@dataclass(frozen=True)
class DrillDraft:
    file_name: str
    document: dict[str, Any]
    user_parts: tuple[str, ...] = ()  # what only the user can know, written as comments at the top


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


def steady_state(topology: Topology, client: Workload) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
    """The client's steady state from what discovery sees, and the parts only the user can fill in.

    The demo shop's applications get its preset probe. Any other client gets an ``http`` probe on
    the Service in front of it; which request exercises its use of RocketMQ is the user's part.
    """
    if client.name in DEMO_APPS:
        url = _frontend_url(topology, client.namespace)
        return ({"probe": {"frontend_url": url}} if url else None), ()
    parts = []
    base = client.service_url
    if base is None:
        base = f"http://{client.name}.{client.namespace}.svc.cluster.local:8080"
        parts.append(
            f"steady_state.probes[0].base_url: no Service selects the pods of {client.ref}; "
            f"{base} is a guess: set an address mqdrill can reach"
        )
    parts.append(
        "steady_state.probes[0].operations[0]: `GET /` only proves the application answers; replace it "
        "with the request whose work goes through RocketMQ (e.g. POST /orders) and what it must return"
    )
    slo = Slo()
    parts.append(
        f"steady_state.slo: the defaults ({slo.success_ratio_min:.0%} success, "
        f"p95 <= {slo.latency_p95_ms_max:g} ms); set your objectives"
    )
    said = ", ".join(
        f"{s.key} {s.shown()}" for s in client.found if s.key in ("topic", "consumer_group", "producer_group")
    )
    if said:
        parts.append(f"its RocketMQ settings ({said}) are what a canary probe would check delivery on")
    if client.metrics_url:
        parts.append(f"it serves metrics at {client.metrics_url}: add its queries to see lag and latency")
    probe = {
        "kind": "http",
        "name": client.name,
        "base_url": base,
        "operations": [{"name": "business_call", "method": "GET", "url": "/", "expect": {"status": ["2xx"]}}],
    }
    return {"probes": [probe]}, tuple(parts)


def _document(pair: Pair, scenario: str, cause: str, engine: str, steady: dict[str, Any] | None) -> dict[str, Any]:
    client, server = pair.client, pair.server
    hit = client if cause in CLIENT_CAUSES else server  # a client-side cause acts inside the client's JVM
    targets: dict[str, Any] = {"namespace": hit.namespace}
    if hit.labels:
        targets["labels"] = dict(hit.labels)
    else:
        targets["pods"] = list(hit.target_pods[:1])  # one named pod: within safety.max_pods
    if hit.container:
        targets["container"] = hit.container
    if cause in NETWORK_CAUSES and engine == "chaosmesh":  # the client's side: NetworkChaos `target`
        peer: dict[str, Any] = {"namespace": client.namespace}
        if client.labels:
            peer["labels"] = dict(client.labels)
        else:
            peer["pods"] = list(client.target_pods[:1])
        targets["client"] = peer
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
    if steady:
        doc["steady_state"] = steady
    return doc


def _first_accepted(
    pair: Pair, scenario: str, catalog: Catalog, engine: str, topology: Topology
) -> tuple[dict[str, Any] | None, str]:
    """The drill with the first cause the engine supports and the guard accepts, or why there is none."""
    why = f"the engine {engine} supports none of its causes"
    for cause in catalog.scenario(scenario).causes:
        if engine not in catalog.causes[cause].engines:
            continue
        if cause in NETWORK_CAUSES and engine != "chaosmesh" and pair.client.namespace != pair.server.namespace:
            why = f"{cause}: the {engine} engine cannot name the client side of a network fault in another namespace"
            continue
        on_client = cause in CLIENT_CAUSES or (cause in NETWORK_CAUSES and engine == "chaosmesh")
        if on_client and not (pair.client.labels or pair.client.target_pods):
            why = f"{cause}: {pair.client.selector_note}"
            continue
        doc = _document(pair, scenario, cause, engine, steady_state(topology, pair.client)[0])
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
    same: dict[str, str] = {}  # a client-side fault is one drill whichever broker is behind it
    for client in topology.clients:
        if not re.fullmatch(IDENT, client.name):
            skipped.append(f"{client.ref}: {client.name!r} is not a name a drill's `app` can take ({IDENT})")
            continue
        parts = steady_state(topology, client)[1]
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
                name = file_name(client, server, scenario, engine)
                key = json.dumps([doc["scenario"], doc["causes"], doc["targets"], doc["app"]], sort_keys=True)
                if key in same:
                    skipped.append(
                        f"{client.ref} × {server.kind} {server.ref} × {scenario}: the same drill as {same[key]}"
                    )
                    continue
                same[key] = name
                drafts.append(DrillDraft(name, doc, parts))
    return Drafts(tuple(drafts), tuple(skipped))
