"""History of verdicts across runs, suites and the archive."""

from __future__ import annotations

import json
from pathlib import Path

from bridge.analysis.history import changes, collect, series


def _run(
    root: Path,
    name: str,
    started: str,
    strength: str,
    *,
    run_id: str | None = None,
    scenario: str = "broker-unavailable",
    app: str = "frontend",
    channel: str = "rocketmq",
) -> Path:
    d = root / name
    d.mkdir(parents=True)
    meta = {"run_id": run_id or name, "started_at": started, "scenario": scenario, "channel": channel}
    (d / "run.json").write_text(json.dumps(meta))
    verdict = {"app": app, "dependency": "broker", "strength": strength, "recovered": True, "expected": "weak"}
    (d / "verdict.json").write_text(json.dumps({"verdicts": [verdict]}))
    return d


def test_a_regression_from_weak_to_strong_stands_out(tmp_path: Path) -> None:
    _run(tmp_path / "runs", "a", "2026-10-01T10:00:00.000Z", "weak")
    _run(tmp_path / "suites" / "s1", "01-x", "2026-10-15T10:00:00.000Z", "inconclusive", run_id="s1-x")
    _run(tmp_path / "suites" / "s2", "01-x", "2026-11-28T10:00:00.000Z", "strong", run_id="s2-x")
    _run(tmp_path / "runs", "b", "2026-11-01T10:00:00.000Z", "weak", scenario="send-latency")
    records = collect([tmp_path / "runs", tmp_path / "suites"])
    assert [r.strength for r in records] == ["weak", "inconclusive", "weak", "strong"]
    found = changes(records)
    assert len(found) == 1 and found[0].regression and found[0].before.run_id == "a"
    assert set(series(records)) == {
        ("frontend", "broker", "broker-unavailable", "rocketmq"),
        ("frontend", "broker", "send-latency", "rocketmq"),
    }


def test_archived_copies_are_not_counted_twice_and_filters_apply(tmp_path: Path) -> None:
    _run(tmp_path / "runs", "r1", "2026-11-01T10:00:00.000Z", "weak", run_id="same")
    _run(tmp_path / "archive" / "entries", "r1", "2026-11-01T10:00:00.000Z", "weak", run_id="same")
    _run(tmp_path / "runs", "r2", "2026-11-02T10:00:00.000Z", "strong", app="cartservice")
    assert len(collect([tmp_path / "runs", tmp_path / "archive"])) == 2
    assert [r.app for r in collect([tmp_path], app="cartservice")] == ["cartservice"]
    assert collect([tmp_path], dependency="namesrv") == []


def test_damaged_runs_are_skipped(tmp_path: Path) -> None:
    d = _run(tmp_path, "ok", "2026-11-01T10:00:00.000Z", "weak")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "run.json").write_text("{not json")
    (bad / "verdict.json").write_text("{}")
    assert [r.run_dir for r in collect([tmp_path])] == [str(d)]


def test_the_history_figure_marks_the_regression(tmp_path: Path) -> None:
    from bridge.analysis.plots import history

    _run(tmp_path, "a", "2026-10-01T10:00:00.000Z", "weak")
    _run(tmp_path, "b", "2026-11-28T10:00:00.000Z", "strong")
    fig = history(collect([tmp_path]))
    assert fig is not None
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["regression"]
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["frontend → broker (broker-unavailable, rocketmq)"]
    assert history([]) is None


def test_channels_are_different_experiments_not_changes(tmp_path: Path) -> None:
    """A strong rocketmq-channel verdict next to a weak http-channel one is no regression."""
    for i in range(3):
        _run(tmp_path, f"r{i}", f"2026-11-0{i + 1}T10:00:00.000Z", "strong", channel="rocketmq")
        _run(tmp_path, f"h{i}", f"2026-11-0{i + 1}T10:00:01.000Z", "weak", channel="http")
    assert changes(collect([tmp_path])) == []
