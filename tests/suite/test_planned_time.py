"""A suite's planned time counts each drill's warm-up: the probe runs through it before the baseline."""

from __future__ import annotations

from pathlib import Path

from bridge.suite.runner import SuiteOptions, load_items
from bridge.suite.schedule import planned_s
from tests.support.drills import drill

SUITES = Path(__file__).resolve().parents[2] / "scenarios" / "suites"


def test_a_drill_is_planned_with_its_warm_up() -> None:
    assert planned_s(drill()) == 5.0 + 30.0 + 60.0 + 60.0  # the defaults, warm-up included
    assert planned_s(drill(windows={"warmup": "12s", "baseline": "20s", "fault": "10s", "recovery": "30s"})) == 72.0
    assert planned_s(drill(windows={"warmup": 0, "baseline": "20s", "fault": "10s", "recovery": "30s"})) == 60.0


def test_the_default_suite_is_planned_with_every_drills_warm_up() -> None:
    _, items = load_items(SUITES / "default.yaml", SuiteOptions())
    # the suite's windows (15 s + 20 s + 25 s) and the default 5 s warm-up, per drill
    assert items and {planned_s(i.drill) for i in items} == {65.0}
    assert sum(planned_s(i.drill) for i in items) == 65.0 * len(items)


def test_production_windows_plan_each_drills_own_warm_up(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: mqdrill/v1\nkind: Drill\nscenario: broker-unavailable\n"
        "windows: {warmup: 9s, baseline: 30s, fault: 10s, recovery: 20s}\n"
    )
    suite = tmp_path / "s.yaml"
    suite.write_text(
        "apiVersion: mqdrill/v1\nkind: Suite\nname: s\n"
        "windows: {warmup: 1s, baseline: 15s, fault: 20s, recovery: 25s}\ndrills:\n  - file: a.yaml\n"
    )
    _, items = load_items(suite, SuiteOptions())
    assert [planned_s(i.drill) for i in items] == [61.0]
    _, own = load_items(suite, SuiteOptions(production_windows=True))
    assert [planned_s(i.drill) for i in own] == [69.0]
