"""Exports: a drill or suite in an engine's own format, so a team can run it without mqdrill.

    export(path, "chaos-mesh-workflow" | "chaosblade" | "chaostoolkit", ...) -> Exported

Each format needs one engine (Chaos Mesh, the ChaosBlade operator, the ``blade`` CLI); drills
written for another engine are re-planned with it by the ordinary planners, and causes that
engine cannot produce are refused with a message naming the engines that can. Nothing here
touches a system: the result is text for stdout or a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml

from bridge.engines.base import EngineName
from bridge.errors import InputError
from bridge.export import chaosblade, chaostoolkit, workflow
from bridge.export.source import PlannedDrill, Source, check_run_id, load_source, new_export_id, plan_source
from bridge.export.steady import checks, loopback_note

# format -> the engine its plans come from
FORMATS: dict[str, EngineName] = {
    "chaos-mesh-workflow": "chaosmesh",
    "chaosblade": "chaosblade",
    "chaostoolkit": "blade",
}

__all__ = ["FORMATS", "Exported", "Source", "export", "export_source", "load_source"]


@dataclass(frozen=True)
class Exported:
    """The exported documents, with the comments a YAML rendering puts before each."""

    fmt: str
    documents: tuple[dict[str, Any], ...]
    header: tuple[str, ...] = ()
    comments: tuple[tuple[str, ...], ...] = ()  # one tuple per document
    notes: tuple[str, ...] = field(default=())  # warnings for the user (also in the YAML header)

    def render(self, *, as_json: bool = False) -> str:
        """YAML (documents separated by ``---``, comments kept) or JSON; Chaos Toolkit is always JSON."""
        if self.fmt == "chaostoolkit" or as_json:
            if len(self.documents) == 1:
                body: Any = self.documents[0]
            else:  # what `kubectl apply -f` takes for several objects in one JSON document
                body = {"apiVersion": "v1", "kind": "List", "items": list(self.documents)}
            return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
        lines = [f"# {h}" for h in self.header] + [f"# note: {n}" for n in self.notes]
        parts = []
        for i, doc in enumerate(self.documents):
            comment = "".join(f"# {c}\n" for c in (self.comments[i] if i < len(self.comments) else ()))
            parts.append(comment + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
        return "\n".join(lines) + ("\n" if lines else "") + "---\n".join(parts)


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(ch.isspace() for ch in url):
        raise InputError(f"--steady-state-url {url[:80]!r}: give an http:// or https:// URL")
    return url


def _header(fmt: str, source: Source, run_id: str, drills: list[PlannedDrill]) -> list[str]:
    engine = FORMATS[fmt]
    lines = [f"mqdrill export --to {fmt} of {source.path} (run id {run_id})"]
    for d in drills:
        causes = ", ".join(p.fault.cause for p in d.plans)
        moved = f"; re-planned from engine {d.drill.engine}" if d.drill.engine != engine else ""
        w = d.drill.windows
        lines.append(
            f"  {d.name}: {d.drill.scenario} by {causes} on engine {engine}{moved}; "
            f"windows {w.baseline:g}s / {w.fault:g}s / {w.recovery:g}s"
        )
    return lines


def export(
    path: str,
    fmt: str,
    *,
    run_id: str | None = None,
    kubeconfig: str | None = None,
    steady_state_url: str | None = None,
    parallel: bool = False,
) -> Exported:
    """Export the drill or suite at ``path`` to ``fmt`` (one of :data:`FORMATS`, checked by export_source)."""
    return export_source(
        load_source(path),
        fmt,
        run_id=run_id,
        kubeconfig=kubeconfig,
        steady_state_url=steady_state_url,
        parallel=parallel,
    )


def export_source(
    source: Source,
    fmt: str,
    *,
    run_id: str | None = None,
    kubeconfig: str | None = None,
    steady_state_url: str | None = None,
    parallel: bool = False,
) -> Exported:
    """Export drills already loaded (tests build a :class:`Source` from drills directly)."""
    if fmt not in FORMATS:
        raise InputError(f"--to {fmt!r}: choose one of {', '.join(FORMATS)}")
    if parallel and fmt != "chaos-mesh-workflow":
        raise InputError("--parallel applies to --to chaos-mesh-workflow only (the other formats run in series)")
    url = _check_url(steady_state_url) if steady_state_url is not None else None
    rid = check_run_id(run_id) if run_id is not None else new_export_id(source.name)
    drills = plan_source(source, engine=FORMATS[fmt], fmt=fmt, run_id=rid, kubeconfig=kubeconfig)
    ctx = _Context(source, drills, rid, url, parallel)
    docs, comments, notes = _BUILDERS[fmt](ctx)
    plan_notes = [n for d in drills for p in d.plans for n in p.notes]
    all_notes = tuple(dict.fromkeys([*plan_notes, *notes]))
    return Exported(fmt, tuple(docs), tuple(_header(fmt, source, rid, drills)), tuple(comments), all_notes)


@dataclass(frozen=True)
class _Context:
    source: Source
    drills: list[PlannedDrill]
    run_id: str
    url: str | None
    parallel: bool


Built = tuple[list[dict[str, Any]], list[tuple[str, ...]], list[str]]  # documents, comments, notes


def _workflow(ctx: _Context) -> Built:
    urls = [c.url for d in ctx.drills for c in checks(d.drill, ctx.url)]
    note = loopback_note(urls, "Chaos Mesh runs StatusChecks from its controller inside the cluster")
    obj = workflow.workflow(
        ctx.drills,
        name=ctx.source.name,
        run_id=ctx.run_id,
        suite=ctx.source.is_suite,
        url=ctx.url,
        parallel=ctx.parallel,
        source=ctx.source.path,
    )
    return [obj], [], [note] if note else []


def _chaosblade(ctx: _Context) -> Built:
    docs: list[dict[str, Any]] = []
    comments: list[tuple[str, ...]] = []
    for d in ctx.drills:
        objs = chaosblade.resources([d])
        docs += objs
        comments += [tuple(chaosblade.drill_comment(d))] + [()] * (len(objs) - 1)
    notes = []
    if len(ctx.drills) > 1:
        notes.append("applying this whole file starts every drill's faults at once; apply one drill at a time")
    return docs, comments, notes


def _chaostoolkit(ctx: _Context) -> Built:
    notes: list[str] = []
    exp = chaostoolkit.experiment(
        ctx.drills,
        name=ctx.source.name,
        run_id=ctx.run_id,
        suite=ctx.source.is_suite,
        url=ctx.url,
        source=ctx.source.path,
    )
    return [exp], [], notes


_BUILDERS = {"chaos-mesh-workflow": _workflow, "chaosblade": _chaosblade, "chaostoolkit": _chaostoolkit}
