"""`--to chaostoolkit`: experiments that Chaos Toolkit's own validator accepts (`chaos validate`, a real
subprocess), whose blade commands match the vendored ChaosBlade spec, and whose every fault is
destroyed both in the method and in the rollbacks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.export import export_source
from tests.support.blade_spec import check_argv
from tests.support.chaostoolkit import chaos_validate, stand_in_blade
from tests.support.exports import RUN_ID, entries_for, entry_drill, source_of

ENTRIES = entries_for("blade")


@pytest.fixture(scope="module")
def blade_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return stand_in_blade(tmp_path_factory.mktemp("bin"))


@pytest.fixture(scope="module")
def catalog_experiment() -> dict[str, Any]:
    drills = [entry_drill(s, c, windows={"baseline": "15s", "fault": "40s", "recovery": "50s"}) for s, c in ENTRIES]
    exported = export_source(source_of(*drills), "chaostoolkit", run_id=RUN_ID)
    doc = json.loads(exported.render())
    assert doc == exported.documents[0]
    return doc


def _argv(activity: dict[str, Any]) -> list[str]:
    return [activity["provider"]["path"], *activity["provider"]["arguments"]]


def test_whole_catalog_experiment_passes_chaos_validate(
    catalog_experiment: dict[str, Any], tmp_path: Path, blade_dir: Path
) -> None:
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(catalog_experiment))
    done = chaos_validate(path, blade_dir=blade_dir)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "look valid" in done.stdout + done.stderr


def test_the_validator_is_not_vacuous(catalog_experiment: dict[str, Any], tmp_path: Path, blade_dir: Path) -> None:
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(catalog_experiment))
    missing_blade = chaos_validate(path, blade_dir=None)
    assert (
        missing_blade.returncode != 0 and "path 'blade' cannot be found" in missing_blade.stdout + missing_blade.stderr
    )
    broken = json.loads(json.dumps(catalog_experiment))
    del broken["steady-state-hypothesis"]["probes"][0]["tolerance"]
    path.write_text(json.dumps(broken))
    no_tolerance = chaos_validate(path, blade_dir=blade_dir)
    assert no_tolerance.returncode != 0 and "tolerance" in no_tolerance.stdout + no_tolerance.stderr


def test_every_create_matches_the_blade_spec_and_is_destroyed_twice(catalog_experiment: dict[str, Any]) -> None:
    method, rollbacks = catalog_experiment["method"], catalog_experiment["rollbacks"]
    creates = [_argv(a) for a in method if a["type"] == "action" and a["provider"]["arguments"][0] == "create"]
    destroys = [_argv(a) for a in method if a["type"] == "action" and a["provider"]["arguments"][0] == "destroy"]
    uids = [argv[argv.index("--uid") + 1] for argv in creates]
    assert len(set(uids)) == len(uids) >= len(ENTRIES)
    assert all("${mqdrill_run}" in u for u in uids)
    for argv in creates:
        assert check_argv(argv) == []
        assert argv[argv.index("--timeout") + 1] == "55"  # fault window 40 s + slack: ends without anyone
    assert [a[2] for a in destroys] == uids
    assert [_argv(a) for a in rollbacks] == [["blade", "destroy", u] for u in uids]


def test_the_method_follows_each_drills_windows(catalog_experiment: dict[str, Any]) -> None:
    method = catalog_experiment["method"]
    drills = catalog_experiment["extensions"][0]["drills"]
    assert len(drills) == len(ENTRIES)
    for d in drills:
        mine = [a for a in method if a["name"].startswith(f"{d['name']}: ")]
        kinds = [
            ("inject" if " inject " in a["name"] else "probe" if a["type"] == "probe" else "recover") for a in mine
        ]
        assert kinds == sorted(kinds, key=["inject", "probe", "recover"].index), "inject, look, recover in order"
        pauses = [a.get("pauses", {}).get("after") for a in mine]
        last_inject = max(i for i, k in enumerate(kinds) if k == "inject")
        assert pauses[last_inject] == 40 and pauses[-1] == 50
        assert all("tolerance" not in a for a in mine if a["type"] == "probe"), (
            "the fault window is recorded, not judged"
        )
    hypothesis = catalog_experiment["steady-state-hypothesis"]["probes"]
    assert [(p["provider"]["url"], p["tolerance"]) for p in hypothesis] == [
        ("http://127.0.0.1:8080/healthz", 200),
        ("http://127.0.0.1:8080/cart?user_id=mqdrill-steady-state", 200),
    ]


def test_a_host_drill_exports_host_commands_and_the_kubeconfig_reaches_k8s_ones(
    tmp_path: Path, blade_dir: Path
) -> None:
    host = entry_drill("broker-unavailable", "process-kill", targets={"services": ["broker"]})
    k8s = entry_drill("send-latency", "network-delay", targets={"namespace": "shop"})
    exported = export_source(source_of(host, k8s), "chaostoolkit", run_id=RUN_ID, kubeconfig="/etc/kube/drill.yaml")
    creates = [_argv(a) for a in exported.documents[0]["method"] if a["provider"].get("arguments", [""])[0] == "create"]
    assert creates[0][:4] == ["blade", "create", "process", "kill"] and "--kubeconfig" not in creates[0]
    assert creates[1][2:5] == ["k8s", "pod-network", "delay"]
    assert creates[1][creates[1].index("--kubeconfig") + 1] == "/etc/kube/drill.yaml"
    assert creates[1][creates[1].index("--namespace") + 1] == "shop"
    path = tmp_path / "e.json"
    path.write_text(exported.render())
    assert chaos_validate(path, blade_dir=blade_dir).returncode == 0


def test_uids_resolve_to_kubernetes_names_and_a_new_run_word_gives_new_ones(
    catalog_experiment: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """blade refuses a uid it has seen; MQDRILL_RUN lets the same experiment run again."""
    import re

    from chaoslib import substitute
    from chaoslib.configuration import load_configuration

    def resolved() -> list[str]:
        config = load_configuration(catalog_experiment["configuration"])
        creates = [a["provider"]["arguments"] for a in catalog_experiment["method"] if " inject " in a["name"]]
        return [substitute(args, config, {})[args.index("--uid") + 1] for args in creates]

    monkeypatch.delenv("MQDRILL_RUN", raising=False)
    first = resolved()
    assert all(re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", u) for u in first), first
    monkeypatch.setenv("MQDRILL_RUN", "again2")
    second = resolved()
    assert len(set(second)) == len(second) and not set(first) & set(second)
    assert all("-again2-" in u for u in second)
