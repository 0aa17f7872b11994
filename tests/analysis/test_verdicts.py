"""Run directories with known answers: the verdict must match DESIGN.md's semantics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridge.analysis import analyze, write_verdict
from bridge.analysis.synthetic import DOWN, HEALTHY, Profile, Scenario, write_run


def verdict_of(tmp_path: Path, sc: Scenario, name: str = "run") -> dict[str, Any]:
    run = write_run(tmp_path / name, sc)
    doc = write_verdict(run)
    on_disk = json.loads((run / "verdict.json").read_text())
    assert on_disk == doc
    assert doc["schema"] == "mqdrill.verdict/v1"
    return dict(doc["verdicts"][0])


def test_clear_strong(tmp_path: Path) -> None:
    v = verdict_of(tmp_path, Scenario())
    assert (v["strength"], v["recovered"], v["matches_expected"]) == ("strong", True, True)
    assert any("add_to_cart" in r and "below the objective" in r for r in v["reasons"])
    assert v["evidence"]["per_window"]["fault"]["add_to_cart"]["success_ratio"] == 0.0
    assert v["evidence"]["recovery"]["time_to_recover_s"] == 0.0


def test_clear_weak(tmp_path: Path) -> None:
    v = verdict_of(tmp_path, Scenario(fault=[(30.0, HEALTHY)], expected="weak"))
    assert (v["strength"], v["recovered"], v["matches_expected"]) == ("weak", True, True)


def test_weak_when_expected_strong_does_not_match(tmp_path: Path) -> None:
    v = verdict_of(tmp_path, Scenario(fault=[(30.0, HEALTHY)], expected="strong"))
    assert v["strength"] == "weak" and v["matches_expected"] is False


def test_brief_outage_is_strong_and_recovers(tmp_path: Path) -> None:
    sc = Scenario(fault=[(10.0, HEALTHY), (3.0, DOWN), (17.0, HEALTHY)])
    v = verdict_of(tmp_path, sc)
    assert v["strength"] == "strong" and v["recovered"] is True
    fault = v["evidence"]["per_window"]["fault"]["add_to_cart"]
    assert 0.85 < fault["success_ratio"] < 0.95


def test_latency_only_impact_is_strong(tmp_path: Path) -> None:
    slow = Profile(latency_ms=900.0)
    v = verdict_of(tmp_path, Scenario(fault=[(30.0, slow)]))
    assert v["strength"] == "strong"
    assert any("p95 latency" in r for r in v["reasons"])
    assert v["evidence"]["comparison"]["add_to_cart"]["latency"]["significant"] is True
    assert v["evidence"]["comparison"]["add_to_cart"]["success"]["significant"] is False


def test_latency_rise_within_objectives_is_weak(tmp_path: Path) -> None:
    v = verdict_of(tmp_path, Scenario(fault=[(30.0, Profile(latency_ms=120.0))], expected="weak"))
    assert v["strength"] == "weak"
    assert any("degradation" in r for r in v["reasons"])


def test_async_cart_not_visible_is_strong(tmp_path: Path) -> None:
    # add-to-cart is accepted, but the cart would show the item only after 20 s (limit 5 s): the
    # probe gives up at 5 s, as the real one does, so no delay is recorded for those items.
    late = Profile(visibility_ms=20_000.0)
    slo = {"success_ratio_min": 0.99, "latency_p95_ms_max": 500, "visibility_s_max": 5}
    v = verdict_of(tmp_path, Scenario(fault=[(30.0, late)], slo=slo))
    assert v["strength"] == "strong"
    fault = v["evidence"]["per_window"]["fault"]
    assert fault["add_to_cart"]["holds"] is True and fault["cart_visible"]["holds"] is False
    assert fault["cart_visible"]["success_ratio"] == 0.0 and fault["cart_visible"]["answered"] == 0
    # the items added in the fault's last 5 s are decided after it ends: in neither window
    assert v["evidence"]["straddling_rows"]["fault|recovery"] >= 5 * 10


def test_unhealthy_baseline_is_inconclusive(tmp_path: Path) -> None:
    v = verdict_of(tmp_path, Scenario(baseline=[(60.0, Profile(success=0.9))]))
    assert v["strength"] == "inconclusive" and v["recovered"] is None and v["matches_expected"] is None
    assert any("baseline itself violates" in r for r in v["reasons"])


def test_failed_injection_is_inconclusive(tmp_path: Path) -> None:
    v = verdict_of(tmp_path, Scenario(inject="failed"))
    assert v["strength"] == "inconclusive" and v["recovered"] is None
    assert any("injection failed" in r for r in v["reasons"])


def test_unconfirmed_injection_is_inconclusive(tmp_path: Path) -> None:
    v = verdict_of(tmp_path, Scenario(inject="none"))
    assert v["strength"] == "inconclusive"
    assert any("never confirmed injected" in r for r in v["reasons"])


def test_too_few_samples_is_inconclusive(tmp_path: Path) -> None:
    v = verdict_of(tmp_path, Scenario(rate=0.5, fault=[(30.0, HEALTHY)]))
    assert v["strength"] == "inconclusive"
    assert any(r.startswith("Too few samples") for r in v["reasons"])


def test_aborted_run_is_inconclusive(tmp_path: Path) -> None:
    v = verdict_of(tmp_path, Scenario(abort_at=75.0))
    assert v["strength"] == "inconclusive" and v["recovered"] is None
    assert any("aborted before the fault window ended" in r for r in v["reasons"])


def test_crashed_run_with_cut_line_is_inconclusive(tmp_path: Path) -> None:
    run = write_run(tmp_path / "crash", Scenario(crash_at=75.0))
    a = analyze(run)
    assert a.decision.strength == "inconclusive"
    assert any("last line was cut" in n for n in a.run.notes)
    assert any("stopped before the fault window ended" in r for r in a.decision.reasons)


def test_not_recovered(tmp_path: Path) -> None:
    v = verdict_of(tmp_path, Scenario(recovery=[(30.0, Profile(success=0.5))]))
    assert v["strength"] == "strong" and v["recovered"] is False
    assert v["evidence"]["recovery"]["time_to_recover_s"] is None


def test_weak_that_does_not_recover(tmp_path: Path) -> None:
    sc = Scenario(fault=[(30.0, HEALTHY)], recovery=[(30.0, Profile(latency_ms=2000.0))], expected="weak")
    v = verdict_of(tmp_path, sc)
    assert (v["strength"], v["recovered"]) == ("weak", False)


def test_slow_recovery_measures_time_to_recover(tmp_path: Path) -> None:
    # Judged on outcome times (issue 12): the shop is back 12 s after recovery was confirmed, but the
    # last item added while it was down is seen lost only when the probe gives up on it, 5 s later
    # (the visibility bound): the objectives hold for outcomes decided from about 17 s on.
    v = verdict_of(tmp_path, Scenario(recovery=[(12.0, DOWN), (18.0, HEALTHY)]))
    ttr = v["evidence"]["recovery"]["time_to_recover_s"]
    assert v["recovered"] is True and 16.0 <= ttr <= 17.0


def test_custom_slo_changes_the_verdict(tmp_path: Path) -> None:
    degraded = [(30.0, Profile(success=0.95))]
    strict = verdict_of(tmp_path, Scenario(fault=degraded), "strict")
    lenient = verdict_of(
        tmp_path,
        Scenario(fault=degraded, slo={"success_ratio_min": 0.9, "latency_p95_ms_max": 500}),
        "lenient",
    )
    assert strict["strength"] == "strong" and lenient["strength"] == "weak"


def test_violation_without_significance_is_inconclusive(tmp_path: Path) -> None:
    # Baseline at 99.2 %, fault at 98.9 %: violates 0.99, but the drop is within noise.
    sc = Scenario(baseline=[(60.0, Profile(success=0.992))], fault=[(30.0, Profile(success=0.989))], rate=20.0)
    v = verdict_of(tmp_path, sc)
    assert v["strength"] == "inconclusive"
    assert any("not significant" in r for r in v["reasons"])


@pytest.mark.parametrize("missing", ["run.json", "events.jsonl", "probe.csv"])
def test_missing_files_never_crash(tmp_path: Path, missing: str) -> None:
    run = write_run(tmp_path / "r", Scenario())
    (run / missing).unlink()
    v = write_verdict(run)["verdicts"][0]
    if missing == "run.json":
        assert v["app"] == "unknown" and v["strength"] == "strong"
    else:
        assert v["strength"] == "inconclusive" and v["reasons"]


def test_empty_directory_is_inconclusive(tmp_path: Path) -> None:
    v = write_verdict(tmp_path)["verdicts"][0]
    assert v["strength"] == "inconclusive" and v["recovered"] is None


def test_garbage_files_never_crash(tmp_path: Path) -> None:
    run = write_run(tmp_path / "r", Scenario())
    (run / "run.json").write_text("{not json")
    (run / "events.jsonl").write_text('{"t": "x"}\nnot json\n')
    (run / "probe.csv").write_bytes(b"t,ok\n\x00\xff,zz\n")
    (run / "metrics.csv").write_text("nonsense")
    v = write_verdict(run)["verdicts"][0]
    assert v["strength"] == "inconclusive"
    assert any("could not be parsed" in n for n in v["evidence"]["notes"])


def test_metrics_and_signatures_are_reported(tmp_path: Path) -> None:
    v = verdict_of(tmp_path, Scenario(backlog=True, signatures=True))
    consume = v["evidence"]["consume"]
    assert consume["peak_consume_delay"]["unit"] == "ms" and consume["peak_consume_delay"]["value"] > 20_000
    assert consume["backlog"]["drained"] is True and 0 < consume["backlog"]["drain_time_s"] < 15
    changes = {s["signature"]: s["change"] for s in v["evidence"]["error_signatures"]}
    assert changes["RemotingConnectException: connect to broker failed"] == "appeared"
    assert changes["WARN slow GC"] == "grew" and "INFO heartbeat" not in changes
    impact = v["evidence"]["impact"]
    assert impact["predicted"] and impact["observed"][0].startswith("add_to_cart: success 100.0% -> 0.0%")


def test_operation_probed_only_during_recovery_does_not_block(tmp_path: Path) -> None:
    import polars as pl

    from bridge.analysis.synthetic import probe_frame

    sc = Scenario()
    frame = probe_frame(sc)
    late = frame.filter(pl.col("t") > sc.t0 + 100).with_columns(pl.lit("checkout").alias("op"))
    run = write_run(tmp_path / "r", sc, probes=pl.concat([frame, late]).sort("t"))
    a = analyze(run)
    assert a.ops == ["add_to_cart", "cart_visible"] and a.decision.strength == "strong"


def test_backlog_is_a_message_count_and_exporter_sentinels_are_ignored(tmp_path: Path) -> None:
    """RocketMQ exports lag latency (a time, Long.MIN_VALUE with no consumer) beside lag in messages."""
    run = tmp_path / "run"
    write_run(run, Scenario(backlog=True))
    metrics = (run / "metrics.csv").read_text().splitlines()
    t_values = sorted({float(line.split(",")[0]) for line in metrics[1:]})
    extra = [f"{t},broker,rocketmq_consumer_lag_latency_milliseconds,-9.223372036854776e+18,{{}}" for t in t_values]
    (run / "metrics.csv").write_text("\n".join([*metrics, *extra]) + "\n")
    consume = analyze(run).consume
    assert "latency" not in consume["backlog"]["metric"]
    assert consume["backlog"]["peak"] >= 0
