"""What `mqdrill run` and `mqdrill suite` print stays readable off a terminal (CI logs, `| tee`, files):
full names, one row a line, no 80-column squeeze; each verdict also in one sentence."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from bridge.analysis import analyze
from bridge.analysis.synthetic import HEALTHY, Scenario, write_run
from bridge.cli.progress import LineProgress
from bridge.cli.suite_progress import SuiteProgress
from bridge.cli.verdicts import print_run, print_suite
from bridge.runner.ports import LiveStats, Progress
from bridge.suite.suitedir import DrillOutcome

LONG = "broker-unavailable-process-kill-against-the-checkout-frontend-in-namespace-shop-prod"


def _verdict(tmp_path: Path, name: str, sc: Scenario) -> dict[str, Any]:
    return dict(analyze(write_run(tmp_path / name, sc)).verdict()["verdicts"][0])


def _outcomes(tmp_path: Path) -> list[DrillOutcome]:
    strong = _verdict(tmp_path, "a", Scenario(app="checkout-frontend-with-a-long-name"))
    weak = _verdict(tmp_path, "b", Scenario(fault=[(30.0, HEALTHY)]))
    return [
        DrillOutcome(LONG, LONG, "suite.yaml", "broker-unavailable", "strong", "a", "completed", verdicts=[strong]),
        DrillOutcome(
            "http-drill", "http-drill", "suite.yaml", "broker-unavailable", "strong", "b", "completed", verdicts=[weak]
        ),
        DrillOutcome(
            "failed-drill", "failed-drill", "suite.yaml", "send-latency", "weak", "c", "failed", "preflight refused"
        ),
    ]


def test_suite_table_off_a_terminal_keeps_full_names_on_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")  # what a CI runner typically says; must not squeeze the table
    out = io.StringIO()
    print_suite(_outcomes(tmp_path), file=out)
    text = out.getvalue()
    rows = [line for line in text.splitlines() if LONG in line]
    assert len(rows) == 1, text  # the long name is whole, on the row's one line
    assert "checkout-frontend-with-a-long-name → broker" in rows[0] and "strong" in rows[0]
    assert "…" not in text and "\x1b[" not in text  # nothing cut, no colour codes in a log
    assert max(len(line) for line in text.splitlines()) > 80


def test_suite_output_says_how_many_matched_and_why_the_others_did_not(tmp_path: Path) -> None:
    out = io.StringIO()
    print_suite(_outcomes(tmp_path), file=out)
    lines = out.getvalue().splitlines()
    tally = "1 of 3 drills matched their expectation; 2 did not (1 gave another verdict, 1 was inconclusive)."
    assert tally in lines
    after = lines[lines.index(tally) + 1 :]
    assert after[0].startswith("  http-drill: weak: add-to-cart requests held at 100 %")
    assert after[1] == "  failed-drill: inconclusive: preflight refused"


def test_run_output_is_a_table_and_the_verdict_in_one_sentence(tmp_path: Path) -> None:
    run = write_run(tmp_path / "r", Scenario())
    a = analyze(run)
    out = io.StringIO()
    print_run(a.verdict()["verdicts"], a.run.meta, file=out)
    text = out.getvalue()
    assert "frontend → broker (rocketmq)" in text and "as expected" in text
    assert "strong: cart updates fell from 100 % to 0 % while the broker was down" in text


def _progress(phase: str, left: float, ratio: float | None = 0.995) -> Progress:
    return Progress(phase, left, LiveStats(count=50, success_ratio=ratio, p95_ms=61.4))


def test_live_progress_off_a_terminal_is_one_plain_line_per_phase() -> None:
    out = io.StringIO()
    view = LineProgress(LONG, stream=out)
    for p in (_progress("baseline", 30), _progress("baseline", 29), _progress("fault", 10, 0.0), _progress("fault", 9)):
        view(p)
    view.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(line.startswith(LONG) for line in lines)
    assert "success 99.5 %  p95 61 ms" in lines[0] and "success 0 %" in lines[1]
    assert "\r" not in out.getvalue() and "\x1b" not in out.getvalue()


def test_suite_progress_off_a_terminal_writes_phase_changes_and_results_only(tmp_path: Path) -> None:
    out = io.StringIO()
    view = SuiteProgress(["a", "b"], {"a": 60.0, "b": 60.0}, stream=out)
    view.on_progress("a", _progress("baseline", 30))
    view.on_progress("a", _progress("baseline", 29))
    view.on_progress("b", _progress("fault", 5))
    view.on_done(_outcomes(tmp_path)[1])
    assert out.getvalue().splitlines() == [
        "a: baseline",
        "b: fault",
        "done http-drill: completed, verdict weak (expected strong)",
    ]
