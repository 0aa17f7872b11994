"""`--to chaosblade`: ChaosBlade operator resources for every catalog entry the operator can produce,
valid against the vendored CRD, with the safety labels and a timeout on every experiment."""

from __future__ import annotations

import json

import pytest
import yaml

from bridge.engines.base import MANAGED_BY_LABEL, RUN_ID_LABEL
from bridge.export import export_source
from tests.support.blade_spec import load_spec
from tests.support.crd_schema import schema_errors
from tests.support.exports import RUN_ID, entries_for, entry_drill, source_of

ENTRIES = entries_for("chaosblade")


@pytest.fixture(scope="module")
def catalog_export() -> tuple[str, list[dict[str, object]]]:
    """The whole catalog as one suite: rendered YAML and its documents."""
    drills = [entry_drill(s, c, windows={"fault": "40s"}) for s, c in ENTRIES]
    exported = export_source(source_of(*drills), "chaosblade", run_id=RUN_ID)
    return exported.render(), list(exported.documents)


def test_every_entry_is_exported_and_valid_against_the_crd(catalog_export: tuple[str, list[dict[str, object]]]) -> None:
    text, docs = catalog_export
    parsed = [d for d in yaml.safe_load_all(text) if d is not None]
    assert parsed == docs  # the comments are comments: the YAML holds exactly the objects
    causes = [
        (d["metadata"]["annotations"]["mqdrill.io/scenario"], d["metadata"]["annotations"]["mqdrill.io/cause"])  # type: ignore[index]
        for d in docs
    ]
    assert sorted(set(causes)) == sorted(ENTRIES)
    names = [d["metadata"]["name"] for d in docs]  # type: ignore[index]
    assert len(set(names)) == len(names), "one suite's resources must not overwrite each other"
    spec = load_spec()
    for i, doc in enumerate(docs):
        assert schema_errors(doc) == []
        labels = doc["metadata"]["labels"]  # type: ignore[index]
        assert labels[MANAGED_BY_LABEL] == "mqdrill" and labels[RUN_ID_LABEL].startswith(f"{RUN_ID}-")
        for exp in doc["spec"]["experiments"]:  # type: ignore[index]
            matchers = {m["name"]: m["value"] for m in exp["matchers"]}
            assert matchers["timeout"] == ["55"], "the fault window (40 s) plus the hard-end slack"
            assert (exp["scope"], exp["target"], exp["action"]) in spec, i


def test_each_drill_is_introduced_by_a_comment_with_its_windows(
    catalog_export: tuple[str, list[dict[str, object]]],
) -> None:
    text, docs = catalog_export
    assert text.count("# drill ") == len(ENTRIES)
    assert "apply one drill at a time" in text
    assert "delete after the fault window 40s" in text


def test_json_form_is_a_kubernetes_list() -> None:
    exported = export_source(source_of(entry_drill("broker-unavailable", "process-kill")), "chaosblade", run_id=RUN_ID)
    single = json.loads(exported.render(as_json=True))
    assert single["kind"] == "ChaosBlade"
    two = export_source(
        source_of(entry_drill("broker-unavailable", "process-kill"), entry_drill("send-latency", "network-delay")),
        "chaosblade",
        run_id=RUN_ID,
    )
    listed = json.loads(two.render(as_json=True))
    assert listed["kind"] == "List" and [o["kind"] for o in listed["items"]] == ["ChaosBlade", "ChaosBlade"]
