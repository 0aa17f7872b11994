"""Each operation is judged by its own objective from run.json's `objectives`; runs without it
keep the drill-wide `slo` meaning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bridge.analysis import write_verdict
from bridge.analysis.slo import slo_from_meta
from bridge.analysis.synthetic import HEALTHY, Profile, Scenario, write_run

# The asynchronous path slows to ~7 s during the fault; the synchronous one stays healthy.
SLOW_ASYNC = Profile(visibility_ms=7000.0)
SLO = {"success_ratio_min": 0.99, "latency_p95_ms_max": 500, "visibility_s_max": 5}


def verdict(tmp_path: Path, name: str, objectives: dict[str, Any] | None, sc: Scenario) -> dict[str, Any]:
    run = write_run(tmp_path / name, sc)
    if objectives is not None:
        meta = json.loads((run / "run.json").read_text())
        meta["objectives"] = objectives
        (run / "run.json").write_text(json.dumps(meta))
    return dict(write_verdict(run)["verdicts"][0])


def test_a_slow_async_path_within_its_own_bound_is_weak(tmp_path: Path) -> None:
    sc = Scenario(fault=[(30.0, SLOW_ASYNC)], slo=SLO, expected="weak")
    # The older run directory (no objectives): one visibility bound of 5 s for all, so 7 s breaks it.
    assert verdict(tmp_path, "old", None, sc)["strength"] == "strong"
    bars = {
        "add_to_cart": {"measure": "latency", "latency_p95_ms_max": 500},
        "cart_visible": {"measure": "delay", "delay_s_max": 30},
    }
    v = verdict(tmp_path, "new", bars, sc)
    assert (v["strength"], v["recovered"]) == ("weak", True)


def test_a_tight_bar_on_the_sync_path_catches_what_the_drill_wide_one_misses(tmp_path: Path) -> None:
    sc = Scenario(fault=[(30.0, Profile(latency_ms=300.0))], slo=SLO)
    assert verdict(tmp_path, "wide", None, sc)["strength"] == "weak"
    bars = {"add_to_cart": {"measure": "latency", "latency_p95_ms_max": 100}, "cart_visible": {"measure": "delay"}}
    v = verdict(tmp_path, "tight", bars, sc)
    assert v["strength"] == "strong"
    assert any("add_to_cart: p95 latency" in r and "above the objective 100 ms" in r for r in v["reasons"])


def test_per_operation_sample_needs_follow_each_success_bar(tmp_path: Path) -> None:
    # 0.999 needs 1,000 samples per window: 30 s at 10/s cannot show it, so the verdict waits.
    sc = Scenario(fault=[(30.0, HEALTHY)], slo=SLO)
    v = verdict(tmp_path, "strict", {"add_to_cart": {"success_ratio_min": 0.999}}, sc)
    assert v["strength"] == "inconclusive"
    assert any("add_to_cart had" in r and "at least 1000" in r for r in v["reasons"])
    assert not any("cart_visible had" in r for r in v["reasons"])


def test_bad_objectives_are_reported_and_defaulted() -> None:
    problems: list[str] = []
    slo = slo_from_meta(
        {"slo": SLO, "objectives": {"a": {"measure": "weird", "success_ratio_min": 3}, "b": "x"}}, problems
    )
    assert slo.for_op("a").success_ratio_min == 0.99 and slo.for_op("a").measure == "latency"
    assert slo.for_op("b") is slo and slo.for_op("zzz") is slo
    assert len(problems) == 3
