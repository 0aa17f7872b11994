"""`--to chaos-mesh-workflow`: every catalog entry Chaos Mesh can produce exports a Workflow that the
vendored CRD (unknown fields rejected) and Chaos Mesh's webhook rules accept, shaped as the drill."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.engines.base import MANAGED_BY_LABEL, RUN_ID_LABEL
from bridge.errors import UnsupportedCombination
from bridge.export import export_source
from bridge.export.workflow import CHAOS_FIELDS, chains
from tests.support.crd_schema import schema_errors
from tests.support.drills import drill
from tests.support.exports import RUN_ID, entries_for, entry_drill, source_of
from tests.support.workflow_rules import workflow_problems

CHAOSMESH_ENTRIES = entries_for("chaosmesh")
REFUSED = [(s, c) for s, c in entries_for("local") if (s, c) not in CHAOSMESH_ENTRIES]


def _workflow(*drills: Any, suite: bool = False, **kw: Any) -> dict[str, Any]:
    exported = export_source(source_of(*drills, suite=suite), "chaos-mesh-workflow", run_id=RUN_ID, **kw)
    assert len(exported.documents) == 1
    return exported.documents[0]


def _templates(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in wf["spec"]["templates"]}


def _valid(wf: dict[str, Any]) -> None:
    assert schema_errors(wf) == []
    assert workflow_problems(wf) == []


@pytest.mark.parametrize(("scenario", "cause"), CHAOSMESH_ENTRIES)
def test_every_chaos_mesh_entry_exports_a_valid_workflow_shaped_as_the_drill(scenario: str, cause: str) -> None:
    d = entry_drill(scenario, cause, windows={"baseline": "45s", "fault": "90s", "recovery": "2m"})
    wf = _workflow(d)
    _valid(wf)
    t = _templates(wf)
    entry = t[wf["spec"]["entry"]]
    assert entry["templateType"] == "Serial"
    baseline, fault, recovery = (t[c] for c in entry["children"])
    assert (baseline["templateType"], baseline["deadline"]) == ("Suspend", "45s")
    assert (recovery["templateType"], recovery["deadline"]) == ("Suspend", "120s")
    assert fault["templateType"] == "Parallel"
    kids = [t[c] for c in fault["children"]]
    chaos = [k for k in kids if k["templateType"] in CHAOS_FIELDS]
    checks = [k for k in kids if k["templateType"] == "StatusCheck"]
    assert chaos and checks
    for k in chaos:
        assert k["deadline"] == "90s"
        assert "duration" not in k[CHAOS_FIELDS[k["templateType"]]]
    for k in checks:
        sc = k["statusCheck"]
        assert k["abortWithStatusCheck"] is True and k["deadline"] == "90s" and sc["duration"] == "90s"
        assert sc["type"] == "HTTP" and sc["http"]["criteria"]["statusCode"] == "200"
        assert sc["http"]["url"].startswith("http://127.0.0.1:8080/")
    labels = wf["metadata"]["labels"]
    assert labels == {MANAGED_BY_LABEL: "mqdrill", RUN_ID_LABEL: RUN_ID}
    assert wf["metadata"]["name"].startswith(f"mqdrill-{scenario}-{cause}-"[:53])


def test_whole_catalog_as_one_suite_validates_with_unique_template_names() -> None:
    drills = [entry_drill(s, c) for s, c in CHAOSMESH_ENTRIES]
    wf = _workflow(*drills, suite=True)
    _valid(wf)
    t = _templates(wf)
    order = t[wf["spec"]["entry"]]["children"]
    assert [t[name]["templateType"] for name in order] == ["Serial"] * len(drills)
    assert all(len(name) <= 45 for name in t)
    other = export_source(source_of(*drills), "chaos-mesh-workflow", run_id="another-run").documents[0]
    assert other["metadata"]["name"] != wf["metadata"]["name"], "each export is a Workflow of its own"


def test_embedded_spec_is_the_planned_spec_without_its_duration() -> None:
    from bridge.drills import plans_for

    d = drill(scenario="send-latency", causes=["network-delay"], engine="chaosmesh", params={"latency_ms": 750})
    planned = plans_for(d, source="x", run_id=RUN_ID)[0].objects[0]["spec"]
    wf = _workflow(d)
    embedded = next(t["networkChaos"] for t in wf["spec"]["templates"] if t["templateType"] == "NetworkChaos")
    assert embedded == {k: v for k, v in planned.items() if k != "duration"}
    assert embedded["delay"]["latency"] == "750ms"


def test_guard_span_and_probe_timeout_set_the_status_check_thresholds() -> None:
    d = drill(
        scenario="send-latency",
        steady_state={"probe": {"timeout": "3s", "frontend_url": "http://shop.example:8080"}},
        safety={"guard": {"success_ratio_min": 0.5, "for": "30s"}},
    )
    checks = [t["statusCheck"] for t in _workflow(d)["spec"]["templates"] if t["templateType"] == "StatusCheck"]
    assert {c["http"]["url"] for c in checks} == {
        "http://shop.example:8080/healthz",
        "http://shop.example:8080/cart?user_id=mqdrill-steady-state",
    }
    assert all(c["timeoutSeconds"] == 3 and c["intervalSeconds"] == 3 and c["failureThreshold"] == 10 for c in checks)
    url = "http://frontend.shop.svc:8080/ready"
    only = [t for t in _workflow(d, steady_state_url=url)["spec"]["templates"] if t["templateType"] == "StatusCheck"]
    assert [t["statusCheck"]["http"]["url"] for t in only] == [url]


@pytest.mark.parametrize(("scenario", "cause"), REFUSED)
def test_causes_chaos_mesh_cannot_produce_are_refused_naming_the_engines_that_can(scenario: str, cause: str) -> None:
    with pytest.raises(UnsupportedCombination) as err:
        _workflow(entry_drill(scenario, cause))
    message = str(err.value)
    assert message.startswith("cannot export to chaos-mesh-workflow:") and cause in message
    assert "engines that can: chaosblade, blade, local" in message and "\n" not in message


def test_a_suite_counts_every_refused_drill_in_one_line() -> None:
    drills = [entry_drill("broker-unavailable", "process-kill"), entry_drill("broker-unavailable", "pod-kill")]
    drills.append(entry_drill("consumer-backlog", "process-pause"))
    with pytest.raises(UnsupportedCombination, match=r"drills\[0\].*\(and 1 more of 3 drills\)$"):
        _workflow(*drills, suite=True)


def test_parallel_suite_runs_disjoint_components_side_by_side() -> None:
    broker = entry_drill("broker-unavailable", "pod-kill")
    namesrv = entry_drill("namesrv-unavailable", "pod-kill")
    broker_cpu = entry_drill("broker-cpu-full", "cpu-full")
    wf = _workflow(broker, namesrv, broker_cpu, suite=True, parallel=True)
    _valid(wf)
    t = _templates(wf)
    entry = t[wf["spec"]["entry"]]
    assert entry["templateType"] == "Parallel" and len(entry["children"]) == 2
    chain = t[entry["children"][0]]
    assert chain["templateType"] == "Serial"
    assert chain["children"] == ["01-broker-unavailable-pod-kill", "03-broker-cpu-full-cpu-full"]
    assert entry["children"][1] == "02-namesrv-unavailable-pod-kill"


def test_parallel_follows_the_suite_schedulers_footprints() -> None:
    """Same component in another namespace is another footprint, as `mqdrill suite` sees it."""
    here = entry_drill("send-latency", "network-delay")
    elsewhere = entry_drill("broker-unavailable", "pod-kill", targets={"namespace": "shop-b"})
    same = entry_drill("broker-unavailable", "pod-kill")
    t = _templates(_workflow(here, elsewhere, same, suite=True, parallel=True))
    entry = t["entry"]
    assert len(entry["children"]) == 2
    assert t[entry["children"][0]]["children"] == ["01-send-latency-network-delay", "03-broker-unavailable-pod-kill"]
    assert entry["children"][1] == "02-broker-unavailable-pod-kill"


Footprint = frozenset[tuple[str, str, str]]
COMPONENTS = st.sampled_from([(ns, "component", c) for ns in ("a", "b") for c in ("namesrv", "broker", "cartservice")])


@given(st.lists(st.frozensets(COMPONENTS, min_size=1)))
def test_chains_partition_the_drills_and_never_share_a_footprint(footprints: list[Footprint]) -> None:
    groups = chains(footprints)
    assert sorted(i for g in groups for i in g) == list(range(len(footprints)))
    assert all(g == sorted(g) for g in groups) and [g[0] for g in groups] == sorted(g[0] for g in groups)
    union = [frozenset().union(*(footprints[i] for i in g)) for g in groups]
    for a in range(len(groups)):
        for b in range(a + 1, len(groups)):
            assert not union[a] & union[b]
    for g in groups:  # minimal: each chain is connected through shared resources
        reached, frontier = {g[0]}, [g[0]]
        while frontier:
            i = frontier.pop()
            for j in g:
                if j not in reached and footprints[i] & footprints[j]:
                    reached.add(j)
                    frontier.append(j)
        assert reached == set(g)


def test_the_rules_are_not_vacuous() -> None:
    wf = _workflow(entry_drill("broker-unavailable", "pod-kill"))
    chaos = next(t for t in wf["spec"]["templates"] if t["templateType"] == "PodChaos")
    with_duration = copy.deepcopy(wf)
    next(t for t in with_duration["spec"]["templates"] if t["name"] == chaos["name"])["podChaos"]["duration"] = "5s"
    assert schema_errors(with_duration) == []  # the CRD allows it; Chaos Mesh's webhook does not
    assert any("duration" in p for p in workflow_problems(with_duration))
    typo = copy.deepcopy(wf)
    next(t for t in typo["spec"]["templates"] if t["name"] == chaos["name"])["podChaos"]["gracePeriods"] = 0
    assert any("gracePeriods" in e for e in schema_errors(typo))
    dangling = copy.deepcopy(wf)
    dangling["spec"]["templates"][0]["children"].append("nowhere")
    assert any("nowhere" in p for p in workflow_problems(dangling))
