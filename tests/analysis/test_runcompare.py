"""Two runs of one drill side by side (issue 13: the governance loop's before/after view)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge.analysis.analyze import write_verdict
from bridge.analysis.history import changes, collect
from bridge.analysis.runcompare import STEP_FIX, STEP_REGRESSION, STEP_SAME, STEP_UNCLEAR, compare_runs, step_between
from bridge.analysis.synthetic import DOWN, HEALTHY, Profile, Scenario, write_run
from bridge.cli import cli
from bridge.errors import InputError


def _run(path: Path, fault: Profile, *, protection: str | list[str] | None = None, **kw: object) -> Path:
    sc = Scenario(fault=[(30.0, fault)], **kw)  # type: ignore[arg-type]
    run = write_run(path, sc)
    if protection is not None:
        meta = json.loads((run / "run.json").read_text())
        meta["protections_on"] = [protection] if isinstance(protection, str) else protection
        (run / "run.json").write_text(json.dumps(meta))
    return run


def test_a_protection_that_keeps_the_business_up_is_a_fix_named_by_its_protection(tmp_path: Path) -> None:
    before = _run(tmp_path / "a", DOWN)
    after = _run(tmp_path / "b", HEALTHY, protection="fallback-http")
    result = compare_runs(before, after)
    assert (result.before.strength, result.after.strength, result.step) == ("strong", "weak", STEP_FIX)
    assert result.after.protection == "fallback-http" and result.before.protection == "none"
    # the earlier run's fault window was significantly worse than the later one's
    assert result.tests["add_to_cart"]["success"]["significant"] is True
    assert result.tests["add_to_cart"]["success"]["before"] == 0.0
    assert result.tests["add_to_cart"]["success"]["after"] == 1.0
    assert "add_to_cart" in result.improved_ops
    assert "fallback-http" in result.sentence() and result.sentence().startswith("fix:")
    assert result.before.fault["add_to_cart"]["success_ratio"] == 0.0


def test_latency_gain_is_tested_with_the_rank_test(tmp_path: Path) -> None:
    slow_fault = Profile(latency_ms=2000.0)
    result = compare_runs(_run(tmp_path / "a", slow_fault), _run(tmp_path / "b", HEALTHY))
    assert result.step == STEP_FIX
    assert result.tests["add_to_cart"]["latency"]["significant"] is True
    assert result.tests["add_to_cart"]["latency"]["test"].startswith("Mann-Whitney")


def test_no_change_is_same_and_nothing_is_called_better(tmp_path: Path) -> None:
    result = compare_runs(_run(tmp_path / "a", HEALTHY), _run(tmp_path / "b", HEALTHY))
    assert result.step == STEP_SAME and result.improved_ops == []


def test_a_protection_that_made_things_worse_is_a_regression(tmp_path: Path) -> None:
    result = compare_runs(_run(tmp_path / "a", HEALTHY), _run(tmp_path / "b", DOWN, protection=["outbox", "retry"]))
    assert result.step == STEP_REGRESSION and result.after.protection == "outbox+retry"
    assert result.improved_ops == []


def test_runs_of_different_drills_are_refused(tmp_path: Path) -> None:
    a = _run(tmp_path / "a", DOWN)
    b = _run(tmp_path / "b", HEALTHY, scenario="send-latency")
    with pytest.raises(InputError, match="not the same drill"):
        compare_runs(a, b)


@pytest.mark.parametrize(
    ("before", "after", "step"),
    [
        ("strong", "weak", STEP_FIX),
        ("weak", "strong", STEP_REGRESSION),
        ("weak", "weak", STEP_SAME),
        ("inconclusive", "weak", STEP_UNCLEAR),
        ("strong", "inconclusive", STEP_UNCLEAR),
    ],
)
def test_step_between_verdicts(before: str, after: str, step: str) -> None:
    assert step_between(before, after) == step


def test_cli_compare_json_and_exit_codes(tmp_path: Path) -> None:
    strong = _run(tmp_path / "a", DOWN)
    weak = _run(tmp_path / "b", HEALTHY, protection="circuit-breaker")
    runner = CliRunner()
    ok = runner.invoke(cli, ["compare", str(strong), str(weak), "--json"], standalone_mode=False)
    doc = json.loads(ok.output)
    assert ok.return_value == 0 and doc["step"] == "fix" and doc["after"]["protection"] == "circuit-breaker"
    worse = runner.invoke(cli, ["compare", str(weak), str(strong)], standalone_mode=False)
    assert worse.return_value == 1 and "regression" in worse.output
    assert "circuit-breaker" in worse.output  # the table names each side's protection


def test_history_marks_strong_to_weak_as_a_fix(tmp_path: Path) -> None:
    _run(tmp_path / "runs" / "a", DOWN)
    _run(tmp_path / "runs" / "b", HEALTHY)
    for name, started in (("a", "2026-11-01T10:00:00.000Z"), ("b", "2026-11-02T10:00:00.000Z")):
        meta_path = tmp_path / "runs" / name / "run.json"
        meta = json.loads(meta_path.read_text())
        meta["started_at"], meta["run_id"] = started, name
        meta_path.write_text(json.dumps(meta))
        write_verdict(tmp_path / "runs" / name)
    found = changes(collect([tmp_path / "runs"]))
    assert len(found) == 1 and found[0].fix and not found[0].regression
    assert found[0].to_json()["fix"] is True


def test_a_suite_pairs_each_protected_run_with_the_unprotected_run_of_the_same_drill(tmp_path: Path) -> None:
    from bridge.analysis.runcompare import suite_comparisons
    from bridge.analysis.synthetic import write_suite

    suite = write_suite(
        tmp_path / "s",
        {
            "01-broker-unprotected": Scenario(fault=[(30.0, DOWN)]),
            "02-broker-fallback": Scenario(fault=[(30.0, HEALTHY)]),
            "03-latency-unprotected": Scenario(fault=[(30.0, DOWN)], scenario="send-latency"),
        },
    )
    meta_path = suite / "02-broker-fallback" / "run.json"
    meta = json.loads(meta_path.read_text())
    meta["protections_on"] = ["fallback-direct"]
    meta_path.write_text(json.dumps(meta))
    pairs = suite_comparisons(suite)
    assert len(pairs) == 1  # the latency drill has no protected twin
    assert pairs[0].step == STEP_FIX and pairs[0].after.protection == "fallback-direct"
    assert pairs[0].before.run_dir.endswith("01-broker-unprotected")


def test_archiving_a_protections_suite_keeps_the_loop_checksummed(tmp_path: Path) -> None:
    from bridge.analysis.synthetic import write_suite
    from bridge.archive import archive, verify

    suite = write_suite(
        tmp_path / "s",
        {"01-unprotected": Scenario(fault=[(30.0, DOWN)]), "02-fallback": Scenario(fault=[(30.0, HEALTHY)])},
    )
    meta_path = suite / "02-fallback" / "run.json"
    meta = json.loads(meta_path.read_text())
    meta["protections_on"] = ["fallback-direct"]
    meta_path.write_text(json.dumps(meta))
    record = archive(suite, conclusion="fallback makes the broker weak", verified=True, root=tmp_path / "arch")
    assert record["loop"] == [
        {
            "step": "fix",
            "sentence": record["loop"][0]["sentence"],
            "protection": "fallback-direct",
            "before": {"run": "01-unprotected", "strength": "strong"},
            "after": {"run": "02-fallback", "strength": "weak"},
        }
    ]
    stored = json.loads((tmp_path / "arch" / record["id"] / "ARCHIVE.json").read_text())
    assert stored["loop"][0]["protection"] == "fallback-direct"
    assert all(c.ok for c in verify(root=tmp_path / "arch").values())  # ARCHIVE.json is in the manifest


def _protected_suite(root: Path) -> Path:
    from bridge.analysis.synthetic import write_suite

    suite = write_suite(
        root, {"01-unprotected": Scenario(fault=[(30.0, DOWN)]), "02-fallback": Scenario(fault=[(30.0, HEALTHY)])}
    )
    meta_path = suite / "02-fallback" / "run.json"
    meta = json.loads(meta_path.read_text())
    meta["protections_on"] = ["circuit-breaker", "fallback-direct"]
    meta_path.write_text(json.dumps(meta))
    return suite


def test_the_comparison_table_shows_verdicts_protection_figures_and_tests(tmp_path: Path) -> None:
    from bridge.analysis.runcompare import suite_comparisons
    from bridge.analysis.tables import comparison_table

    page = comparison_table(suite_comparisons(_protected_suite(tmp_path / "s")))
    assert "circuit-breaker+fallback-direct" in page and ">fix<" in page
    assert "0 % → 100 %" in page and "better (p = " in page
    assert page.count("<tr>") == 1 + 2  # the header, then one row per operation of the pair


def test_the_suite_report_has_a_before_and_after_section(tmp_path: Path) -> None:
    from bridge.report.build import report

    suite = _protected_suite(tmp_path / "s")
    report(suite, workers=1)
    page = (suite / "report.html").read_text()
    assert "Before and after a protection" in page and "circuit-breaker+fallback-direct" in page
