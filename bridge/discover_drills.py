"""Ready-made drills from a discovered topology: one per client × server × catalog scenario.

Each drill targets the discovered server by its own selector labels (not the catalog's
defaults), uses the scenario's first cause the chosen engine supports, and judges the client
application. Every drill is validated with the drill model before it is written, so a file
this writes always passes ``mqdrill validate``'s syntax check.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from bridge.discover import Topology, Workload, uses
from bridge.errors import UnsupportedCombination
from bridge.spec.catalog import Catalog
from bridge.spec.models import Drill

JUDGED_APPS = ("frontend", "cartservice")  # the applications the probes know how to exercise


@dataclass(frozen=True)
class DrillDraft:
    file_name: str
    document: dict[str, Any]


@dataclass(frozen=True)
class Drafts:
    drills: tuple[DrillDraft, ...]
    skipped: tuple[str, ...]  # why a client × server × scenario got no drill


def _frontend_url(topology: Topology, namespace: str) -> str | None:
    for c in topology.clients:
        if c.name == "frontend" and c.namespace == namespace:
            port = next((p for p in c.ports if p), 8080)
            return f"http://frontend.{namespace}.svc.cluster.local:{port}"
    return None


def _draft(
    client: Workload, server: Workload, scenario: str, cause: str, engine: str, frontend_url: str | None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "apiVersion": "mqdrill/v1",
        "kind": "Drill",
        "name": f"{client.name}-{scenario}-{server.name}-{engine}"[:63].rstrip("-"),
        "description": (
            f"discovered: {client.namespace}/{client.name} uses {server.kind} {server.namespace}/{server.name}"
        ),
        "scenario": scenario,
        "causes": [cause],
        "engine": engine,
        "app": client.name,
        "channel": "rocketmq",
        "targets": {"namespace": server.namespace, "labels": dict(server.labels)},
    }
    if server.container:
        doc["targets"]["container"] = server.container
    if frontend_url:
        doc["steady_state"] = {"probe": {"frontend_url": frontend_url}}
    return doc


def draft_drills(topology: Topology, catalog: Catalog, *, engine: str = "chaosmesh") -> Drafts:
    drafts: list[DrillDraft] = []
    skipped: list[str] = []
    for client in topology.clients:
        if client.name not in JUDGED_APPS:
            skipped.append(
                f"{client.namespace}/{client.name}: no probe knows this application "
                f"(drills judge {', '.join(JUDGED_APPS)})"
            )
            continue
        for server in topology.servers:
            if not uses(client, server):
                continue
            for scenario in (s for s in catalog.scenarios if s.component == server.kind):
                try:
                    cause = catalog.default_cause(scenario.name, engine)
                except UnsupportedCombination as exc:
                    skipped.append(f"{client.name} × {server.name} × {scenario.name}: {exc}")
                    continue
                doc = _draft(client, server, scenario.name, cause, engine, _frontend_url(topology, client.namespace))
                try:
                    Drill.model_validate(doc)
                except ValidationError as exc:
                    skipped.append(f"{doc['name']}: {exc.errors()[0]['msg']}")
                    continue
                drafts.append(DrillDraft(f"{doc['name']}.yaml", doc))
    return Drafts(tuple(drafts), tuple(skipped))


def write_drills(drafts: Drafts, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for d in drafts.drills:
        path = directory / d.file_name
        path.write_text(
            "# Written by `mqdrill discover`; review the targets before running it.\n"
            + yaml.safe_dump(d.document, sort_keys=False, allow_unicode=True)
        )
        written.append(path)
    return written
