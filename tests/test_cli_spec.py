"""`mqdrill catalog | schema | validate | plan` as a user sees them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from bridge.drills import validate_file
from bridge.spec.catalog import load_catalog

REPO = Path(__file__).resolve().parents[1]
SCENARIO_FILES = sorted((REPO / "scenarios").rglob("*.yaml"))


def _mqdrill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True, timeout=60)


def test_catalog_json_lists_every_scenario_cause_with_engines_and_impact() -> None:
    out = _mqdrill("catalog", "--json")
    assert out.returncode == 0
    entries = json.loads(out.stdout)
    pairs = {(e["scenario"], e["cause"]) for e in entries}
    assert pairs == {(s.name, c) for s in load_catalog().scenarios for c in s.causes}
    for e in entries:
        assert e["engines"] and e["predicted_impact"]


def test_schema_is_a_json_schema_that_accepts_shipped_drills_and_rejects_unknown_keys() -> None:
    out = _mqdrill("schema")
    schema = json.loads(out.stdout)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    for path in SCENARIO_FILES:
        doc = yaml.safe_load(path.read_text())
        if doc["kind"] in ("Drill", "Suite"):
            assert list(validator.iter_errors(doc)) == [], path
    bad = {"apiVersion": "mqdrill/v1", "kind": "Drill", "scenario": "broker-unavailable", "colour": "red"}
    assert list(validator.iter_errors(bad))


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_shipped_scenario_file_validates(path: Path) -> None:
    result = validate_file(str(path))
    assert result.ok, result.error


def test_default_suite_covers_five_scenarios_in_both_channels() -> None:
    from bridge.spec.loader import load_document, suite_drills
    from bridge.spec.models import Suite

    path = REPO / "scenarios" / "suites" / "default.yaml"
    suite = load_document(path)
    assert isinstance(suite, Suite)
    drills = [d for _, d in suite_drills(suite, path)]
    combos = {(d.scenario, d.channel) for d in drills}
    for scenario in (
        "broker-unavailable",
        "namesrv-unavailable",
        "send-latency",
        "network-partition",
        "consumer-backlog",
    ):
        assert {(scenario, "rocketmq"), (scenario, "http")} <= combos
    assert all(d.windows.fault == 20 for d in drills), "the suite's short windows override the drills'"


def test_plan_json_is_one_document_with_objects_argv_or_actions() -> None:
    for engine, key in (("chaosmesh", "objects"), ("chaosblade", "objects"), ("blade", "argv"), ("local", "local")):
        out = _mqdrill("plan", "--scenario", "network-partition", "--engine", engine, "--json")
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)
        assert doc["scenario"] == "network-partition" and doc["plans"][0][key]


def test_plan_refuses_a_combination_and_lists_the_engines_that_can() -> None:
    out = _mqdrill("plan", "--scenario", "broker-unavailable", "--cause", "process-kill", "--engine", "chaosmesh")
    assert out.returncode == 2
    assert "engines that can: chaosblade, blade, local" in out.stderr


def test_plan_text_shows_yaml_objects_and_argv() -> None:
    out = _mqdrill("plan", str(REPO / "scenarios/drills/kubernetes/broker-unavailable-chaosmesh.yaml"))
    assert out.returncode == 0
    assert "kind: PodChaos" in out.stdout and "app.kubernetes.io/managed-by: mqdrill" in out.stdout
    out = _mqdrill("plan", "--scenario", "broker-unavailable", "--engine", "blade")
    assert "$ blade create k8s pod-process kill" in out.stdout
