"""Drill files as the commands see them: validate (syntax, catalog, engines, safety, plannable),
build a drill from flags, and the plan preview document. Touches no system.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from bridge.engines.base import Plan
from bridge.engines.planning import plan_drill
from bridge.errors import DrillFileError, InputError, MqdrillError, UnsupportedCombination
from bridge.spec.catalog import load_catalog
from bridge.spec.loader import compose, load_document, load_drill, read_text, suite_drills
from bridge.spec.models import API_VERSION, Drill, Suite
from bridge.spec.resolve import resolve

PREVIEW_RUN_ID = "preview"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of drill and suite files."""
    schema = TypeAdapter(Drill | Suite).json_schema(by_alias=True)
    schema["$schema"] = "http://json-schema.org/draft-07/schema#"
    schema["title"] = "mqdrill drill or suite (apiVersion mqdrill/v1)"
    return schema


@dataclass(frozen=True)
class Validation:
    file: str
    ok: bool
    kind: str | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "ok": self.ok, "kind": self.kind, "error": self.error}


def plans_for(drill: Drill, *, source: str, run_id: str = PREVIEW_RUN_ID, kubeconfig: str | None = None) -> list[Plan]:
    """Resolve and plan a drill; errors name the source and the field."""
    check_windows(drill, source)
    catalog = load_catalog()
    resolved = resolve(drill, catalog, run_id=run_id, source=source)
    try:
        return plan_drill(resolved, catalog, kubeconfig=kubeconfig)
    except UnsupportedCombination as exc:
        raise UnsupportedCombination(f"{source} at `causes`: {exc}") from None


def check_windows(drill: Drill, source: str) -> None:
    """Refuse a baseline too short for the preflight or the analysis at the probe's rate (bridge.spec.sizing)."""
    from pathlib import Path

    from bridge.spec.loader import line_of
    from bridge.spec.sizing import too_short_windows

    for short in too_short_windows(drill):
        line = None
        if Path(source).is_file():
            try:
                line = line_of(compose(read_text(source), source), tuple(short.field.split(".")))
            except MqdrillError:
                line = None
        raise DrillFileError(source, short.message(), line=line, field=short.field)


def check_drill(drill: Drill, source: str) -> None:
    """Everything short of running: the catalog knows the scenario and causes, the engine can plan
    them, and the safety guards pass."""
    plans_for(drill, source=source)


def _is_catalog(path: str) -> bool:
    root = compose(read_text(path), path)
    import yaml

    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if getattr(key, "value", None) == "kind" and getattr(value, "value", None) == "Catalog":
                return True
    return False


def validate_file(path: str) -> Validation:
    """Validate one drill, suite or catalog file; never raises for bad input."""
    try:
        if _is_catalog(path):
            load_catalog(path)
            return Validation(path, True, "Catalog")
        doc = load_document(path)
        if isinstance(doc, Drill):
            check_drill(doc, path)
            return Validation(path, True, "Drill")
        for source, drill in suite_drills(doc, path):
            check_drill(drill, source)
        return Validation(path, True, "Suite")
    except MqdrillError as exc:
        return Validation(path, False, None, str(exc))


def drill_from_flags(scenario: str, cause: str | None, engine: str) -> Drill:
    """A drill for `--scenario/--cause`: the demo shop's defaults for everything else."""
    data: dict[str, Any] = {"apiVersion": API_VERSION, "kind": "Drill", "scenario": scenario, "engine": engine}
    if cause:
        data["causes"] = [cause]
    try:
        return Drill.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        flag = {"scenario": "--scenario", "causes": "--cause", "engine": "--engine"}.get(str(err["loc"][0]), "flags")
        raise InputError(f"{flag}: {err['msg']} (got {err.get('input')!r:.60})") from None


def drill_from_args(file: str | None, scenario: str | None, cause: str | None, engine: str | None) -> tuple[Drill, str]:
    """The drill a command names, `FILE` or `--scenario [--cause]`, with `--engine` applied; and how to
    name it in errors."""
    if (file is None) == (scenario is None):
        raise InputError("give a drill FILE or --scenario (with optional --cause), not both")
    if file is not None and cause is not None:
        raise InputError("--cause goes with --scenario; in a drill file set `causes`")
    if file is not None:
        drill, source = load_drill(file), file
    else:
        assert scenario is not None
        drill, source = drill_from_flags(scenario, cause, engine or "local"), "--scenario"
    if engine is not None:
        drill = drill.model_copy(update={"engine": engine})
    return drill, source


def plan_document(drill: Drill, *, source: str, kubeconfig: str | None = None) -> dict[str, Any]:
    """What `mqdrill plan --json` prints: the drill's resolution and every plan."""
    plans = plans_for(drill, source=source, kubeconfig=kubeconfig)
    scenario = load_catalog().scenario(drill.scenario)
    return {
        "drill": drill.display_name,
        "scenario": drill.scenario,
        "component": scenario.component,
        "engine": drill.engine,
        "predicted_impact": scenario.predicted_impact,
        "run_id": PREVIEW_RUN_ID,
        "plans": [p.to_json() for p in plans],
    }


def render_plan_text(doc: dict[str, Any]) -> str:
    """A readable plan: objects as YAML, argv one per line (shell-quoted for reading only), local actions."""
    import shlex

    import yaml

    lines = [
        f"# drill {doc['drill']}: {doc['scenario']} on {doc['component']} with engine {doc['engine']}",
        f"# predicted impact: {doc['predicted_impact']}",
    ]
    for p in doc["plans"]:
        lines.append(f"# cause {p['cause']} on {p['component']}, hard end after {p['duration_s']}s")
        for note in p.get("notes", []):
            lines.append(f"# note: {note}")
        for obj in p.get("objects", []):
            lines.append("---")
            lines.append(yaml.safe_dump(obj, sort_keys=False).rstrip())
        for argv in p.get("argv", []):
            lines.append("$ " + shlex.join(argv))
        for action in p.get("local", []):
            params = ", ".join(f"{k}={v}" for k, v in action["params"].items())
            lines.append(f"local {action['kind']} {action['service']} ({params}) deadline {action['deadline_s']}s")
    return "\n".join(lines)
