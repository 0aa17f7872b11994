"""The suite's dependency matrix: one cell per application × component × channel, inconclusive drills
never hidden behind another verdict, every drill linked to its report."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from bridge.analysis import read_suite
from bridge.analysis.suite import SuiteData, SuiteRow, dependency_matrix
from bridge.analysis.synthetic import HEALTHY, Profile, Scenario, write_suite

ROOT = Path("/suite")


def _row(drill: str, strength: str, channel: str = "rocketmq", app: str = "frontend", comp: str = "broker") -> SuiteRow:
    verdict = {"app": app, "dependency": comp, "strength": strength}
    return SuiteRow(drill, ROOT / drill, "completed", verdict, "broker-unavailable", comp, channel, suite_dir=ROOT)


def test_channels_are_not_merged_and_an_all_inconclusive_channel_says_so() -> None:
    # The defect seen on a real suite: every rocketmq drill inconclusive, the http one weak -> "weak".
    suite = SuiteData(
        ROOT, {}, [_row("mq-1", "inconclusive"), _row("mq-2", "inconclusive"), _row("http", "weak", "http")]
    )
    m = dependency_matrix(suite)
    assert m.columns == [("broker", "http"), ("broker", "rocketmq")]
    mq = m.cell("frontend", "broker", "rocketmq")
    assert mq is not None and mq.verdict == "inconclusive" and mq.label == "inconclusive (2 drills)"
    http = m.cell("frontend", "broker", "http")
    assert http is not None and http.verdict == "weak" and http.label == "weak"


def test_a_mixed_cell_keeps_its_inconclusive_drills_in_sight_with_links() -> None:
    m = dependency_matrix(SuiteData(ROOT, {}, [_row("down", "strong"), _row("crashed", "inconclusive")]))
    cell = m.cell("frontend", "broker", "rocketmq")
    assert cell is not None and cell.verdict == "strong" and cell.inconclusive == 1
    assert cell.label == "strong, 1 inconclusive"
    assert [(d.drill, d.strength, d.link) for d in cell.drills] == [
        ("down", "strong", "down/report.html"),
        ("crashed", "inconclusive", "crashed/report.html"),
    ]


STRENGTHS = st.sampled_from(["strong", "weak", "inconclusive"])
ROWS = st.lists(
    st.tuples(STRENGTHS, st.sampled_from(["rocketmq", "http"]), st.sampled_from(["frontend", "cart"])),
    min_size=1,
    max_size=12,
)


@given(ROWS)
def test_every_drill_lands_in_exactly_its_own_cell(rows: list[tuple[str, str, str]]) -> None:
    suite = SuiteData(ROOT, {}, [_row(f"d{i}", s, ch, app) for i, (s, ch, app) in enumerate(rows)])
    m = dependency_matrix(suite)
    placed = [(c.app, c.channel, d.drill, d.strength) for c in m.cells.values() for d in c.drills]
    assert sorted(placed) == sorted((app, ch, f"d{i}", s) for i, (s, ch, app) in enumerate(rows))
    for cell in m.cells.values():
        strengths = {d.strength for d in cell.drills}
        assert (cell.verdict == "inconclusive") == (strengths == {"inconclusive"})
        assert cell.verdict != "weak" or "strong" not in strengths
        assert cell.inconclusive == sum(d.strength == "inconclusive" for d in cell.drills)
        assert ("inconclusive" in cell.label) == ("inconclusive" in strengths)


def test_read_suite_takes_component_and_channel_from_run_json(tmp_path: Path) -> None:
    drills = {
        "mq": Scenario(baseline=[(60.0, Profile(success=0.9))]),
        "http": Scenario(fault=[(30.0, HEALTHY)], channel="http", expected="weak"),
    }
    suite = read_suite(write_suite(tmp_path / "s", drills))
    assert [(r.drill, r.component, r.channel, r.report_link) for r in suite.rows] == [
        ("mq", "broker", "rocketmq", "mq/report.html"),
        ("http", "broker", "http", "http/report.html"),
    ]
    m = dependency_matrix(suite)
    assert {k: c.verdict for k, c in m.cells.items()} == {
        ("frontend", "broker", "rocketmq"): "inconclusive",
        ("frontend", "broker", "http"): "weak",
    }


def test_an_older_run_without_channel_takes_it_from_the_probe_rows(tmp_path: Path) -> None:
    import json

    root = write_suite(tmp_path / "s", {"old": Scenario(channel="http")})
    meta = json.loads((root / "old" / "run.json").read_text())
    del meta["channel"]
    (root / "old" / "run.json").write_text(json.dumps(meta))
    assert [r.channel for r in read_suite(root).rows] == ["http"]
