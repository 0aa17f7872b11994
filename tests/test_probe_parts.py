"""The probe's parts: live statistics, settings from a drill, cart matching, the preflight judgement."""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.probes import ProbeConfig, ProbeRow, ProbeRunner, judge, read_rows, steady_state_check
from bridge.probes.rows import CsvSink
from bridge.probes.stats import LiveStats, percentile
from bridge.spec.models import Slo
from tests.support.drills import drill
from tests.support.fake_shop import PRODUCT, FakeShop, reset, running_shop


def row(op: str, ok: bool, latency: float | None) -> ProbeRow:
    return ProbeRow(t=0.0, sent=0.0, latency_ms=latency, ok=ok, op=op, mode="rocketmq")


def test_live_stats_window_counts_only_recent_completions() -> None:
    stats = LiveStats()
    for second in range(100, 110):
        for i in range(10):
            stats.record(
                row("add_to_cart", ok=second < 105 or i == 0, latency=float(second)), completed_at=second + 0.5
            )
    recent = stats.snapshot(window_s=3, now=109.9).op("add_to_cart")  # seconds 106 (holds 106.9) to 109
    assert (recent.count, recent.ok, recent.success_ratio) == (40, 4, 0.1)
    assert (recent.p50_ms, recent.p95_ms) == (107.0, 109.0)
    everything = stats.snapshot(window_s=math.inf, now=109.9).op("add_to_cart")
    assert (everything.count, everything.ok) == (100, 55)
    assert stats.snapshot(window_s=3, now=109.9).op("cart_visible").success_ratio is None


def test_live_stats_accept_a_late_completion_into_an_older_second() -> None:
    stats = LiveStats()
    stats.record(row("add_to_cart", True, 1.0), completed_at=200.2)
    stats.record(row("add_to_cart", False, None), completed_at=199.9)
    assert stats.snapshot(window_s=0.4, now=200.5).op("add_to_cart").count == 1
    assert stats.snapshot(window_s=1, now=200.5).op("add_to_cart").count == 2


def test_the_judged_view_leaves_out_the_warm_up_but_keeps_read_back_history() -> None:
    """The CI case: the canary's first message, sent while its consumer registered, failed in the
    warm-up; the preflight judges from the baseline on, yet keeps the Prometheus probe's history."""
    stats = LiveStats()
    stats.record(row("notifier_lag", True, 3.0), completed_at=100.0)  # history, read at the start
    stats.record(row("canary_delivery", False, None), completed_at=102.0)  # the warm-up's failure
    stats.record(row("canary_delivery", True, 20.0), completed_at=104.9)
    assert stats.judged(now=105.0).op("canary_delivery").count == 2  # nothing marked yet: all rows
    stats.judge_from(105.0, always={"notifier_lag"})
    stats.record(row("canary_delivery", True, 30.0), completed_at=105.0)
    stats.record(row("canary_delivery", True, 40.0), completed_at=105.5)  # same second as the mark
    stats.record(row("notifier_lag", True, 4.0), completed_at=106.0)
    judged = stats.judged(now=107.0)
    canary = judged.op("canary_delivery")
    assert (canary.count, canary.ok, canary.p50_ms) == (2, 2, 30.0)
    assert judged.op("notifier_lag").count == 2
    # the live figures the guard and the progress line read keep every row
    assert stats.snapshot(window_s=math.inf, now=107.0).op("canary_delivery").count == 4


@given(
    st.lists(st.tuples(st.floats(0, 50), st.booleans(), st.sampled_from(["a", "h"])), max_size=60),
    st.floats(0, 50),
)
def test_the_judged_view_is_exactly_the_rows_after_the_mark_plus_the_history_ops(
    rows: list[tuple[float, bool, str]], mark: float
) -> None:
    stats = LiveStats()
    for at, ok, op in rows:
        if at >= mark:
            continue
        stats.record(row(op, ok, 1.0), completed_at=1000.0 + at)
    stats.judge_from(1000.0 + mark, always={"h"})
    for at, ok, op in rows:
        if at >= mark:
            stats.record(row(op, ok, 1.0), completed_at=1000.0 + at)
    judged = stats.judged(now=1100.0)
    for op in ("a", "h"):
        kept = [ok for at, ok, o in rows if o == op and (op == "h" or at >= mark)]
        assert (judged.op(op).count, judged.op(op).ok) == (len(kept), sum(kept))


def test_latency_percentiles_skip_unanswered_rows() -> None:
    stats = LiveStats()
    stats.record(row("add_to_cart", False, None), completed_at=10.0)
    stats.record(row("add_to_cart", True, 40.0), completed_at=10.0)
    figures = stats.snapshot(window_s=5, now=10.0).op("add_to_cart")
    assert (figures.count, figures.ok, figures.p50_ms, figures.p99_ms) == (2, 1, 40.0, 40.0)


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=200), st.floats(min_value=0, max_value=100))
def test_percentile_is_a_member_with_the_right_rank(values: list[float], q: float) -> None:
    ordered = sorted(values)
    p = percentile(ordered, q)
    assert p in ordered
    assert sum(v <= p for v in ordered) >= q / 100 * len(ordered)  # type: ignore[operator]


def test_settings_come_from_the_drill() -> None:
    d = drill(
        channel="http",
        steady_state={
            "probe": {"rate": 50, "timeout": "1s", "operations": ["cart_visible"]},
            "slo": {"visibility_s_max": 3},
        },
    )
    cfg = ProbeConfig.from_drill(d, run_id="r1")
    assert (cfg.rate, cfg.timeout_s, cfg.operations, cfg.channel, cfg.visibility_s_max, cfg.run_id) == (
        50.0,
        1.0,
        ("cart_visible",),
        "http",
        3.0,
        "r1",
    )
    assert cfg.flow_bound_s == 4.0 and cfg.in_flight_limit >= 50 * 4


@pytest.mark.parametrize(
    ("body", "visible"),
    [
        ({"user_id": "u", "items": [{"product_id": PRODUCT, "quantity": 1}]}, True),
        ({"cart": {"lines": [{"item": {"product_id": PRODUCT}}]}}, True),
        ({"user_id": "u", "items": []}, False),
        ({"items": [{"product_id": "OTHER"}], "note": PRODUCT}, False),  # a bare mention is not an entry
        ("not json object", False),
    ],
)
def test_the_presets_cart_check(body: object, visible: bool) -> None:
    import json as _json

    from bridge.probes.httpcall import _BodyRule
    from bridge.probes.preset import shop_probes

    check = shop_probes()[1].check.expect  # type: ignore[attr-defined]
    text = _json.dumps(body)
    why = _BodyRule(check).judge(text, lambda: _json.loads(text), {"product_id": PRODUCT})
    assert (why == "") is visible


def test_judge_names_each_breach() -> None:
    stats = LiveStats()
    for i in range(40):
        stats.record(row("add_to_cart", ok=i % 10 != 0, latency=900.0), completed_at=5.0)
        stats.record(row("cart_visible", ok=True, latency=3000.0), completed_at=5.0)
    cfg = ProbeConfig("http://127.0.0.1:1", 10, 1, ("add_to_cart", "cart_visible"), "rocketmq", 5)
    reasons = judge(stats.snapshot(math.inf, 5.0), cfg, Slo(min_samples=30))
    assert reasons == ["add_to_cart: success ratio 0.900 < 0.99", "add_to_cart: p95 latency 900 ms > 500 ms"]
    assert judge(stats.snapshot(math.inf, 5.0), cfg, Slo(min_samples=50)) == [
        "add_to_cart: only 40 samples, need 50",
        "cart_visible: only 40 samples, need 50",
    ]


@pytest.fixture(scope="module")
def shop() -> Iterator[FakeShop]:
    with running_shop() as s:
        yield s


def test_preflight_holds_on_a_healthy_shop_and_names_the_breach_on_a_broken_one(shop: FakeShop) -> None:
    cfg = ProbeConfig(shop.url, 40, 0.5, ("add_to_cart", "cart_visible"), "rocketmq", 1.0)
    healthy = steady_state_check(cfg, 1.0, Slo(min_samples=20))
    assert healthy.held and healthy.reasons == () and healthy.stats is not None
    try:
        shop.set("erroring")
        broken = steady_state_check(
            ProbeConfig(shop.url, 40, 0.5, ("add_to_cart",), "rocketmq", 1.0, product_id=PRODUCT),
            1.0,
            Slo(min_samples=20),
        )
    finally:
        reset(shop)
    assert not broken.held and broken.reasons[0].startswith("add_to_cart: success ratio 0.000")


def test_preflight_explains_an_unreachable_shop() -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    check = steady_state_check(
        ProbeConfig(f"http://127.0.0.1:{port}", 10, 0.5, ("add_to_cart",), "http", 1.0), 1.0, Slo()
    )
    assert not check.held and check.stats is None
    assert f"GET http://127.0.0.1:{port}/products failed: connect" in check.reasons[0]


def _probe_until_killed(url: str, csv: str) -> None:
    cfg = ProbeConfig(url, 50, 0.5, ("add_to_cart",), "http", 1.0, product_id=PRODUCT)
    ProbeRunner(cfg, Path(csv)).start()
    time.sleep(60)


def test_sigkill_loses_at_most_the_last_second_of_rows(shop: FakeShop, tmp_path: Path) -> None:
    csv = tmp_path / "probe.csv"
    child = multiprocessing.get_context("spawn").Process(target=_probe_until_killed, args=(shop.url, str(csv)))
    child.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not csv.exists() or len(read_rows(csv)) < 60):
            time.sleep(0.1)
        killed_at = time.time()
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.join(10)
    rows = read_rows(csv)
    assert len(rows) >= 60 and all(r["ok"] == "1" for r in rows)
    # Flushed every 0.5 s, answered in ~1 ms: the newest row on disk is under a second old, plus
    # slack for a busy machine descheduling the child.
    assert killed_at - max(float(r["t"]) for r in rows) < 2.0


finite = st.floats(min_value=0, max_value=4e9, allow_nan=False)


@given(
    st.builds(
        ProbeRow,
        t=finite,
        sent=st.none() | finite,
        latency_ms=st.none() | st.floats(min_value=0, max_value=1e6),
        ok=st.booleans(),
        op=st.sampled_from(["add_to_cart", "cart_visible"]),
        mode=st.sampled_from(["rocketmq", "http"]),
        status=st.none() | st.integers(100, 599),
        error=st.text(max_size=300),
    )
)
def test_rows_survive_the_csv_round_trip(row: ProbeRow) -> None:
    sink_path = Path(tempfile.mkdtemp()) / "probe.csv"
    sink = CsvSink(sink_path)
    sink.write(row)
    sink.close()
    (back,) = read_rows(sink_path)
    assert math.isclose(float(back["t"]), row.t, abs_tol=1e-6)
    assert back["sent"] == "" if row.sent is None else math.isclose(float(back["sent"]), row.sent, abs_tol=1e-6)
    assert (back["latency_ms"] == "") is (row.latency_ms is None)
    assert (back["ok"], back["op"], back["mode"]) == ("1" if row.ok else "0", row.op, row.mode)
    assert back["status"] == ("" if row.status is None else str(row.status))
    # Errors come back on one line, bounded to 160 characters.
    flat = " ".join(row.error.split())
    assert back["error"] == (flat if len(flat) <= 160 else flat[:159] + "…")


def test_the_runs_preflight_does_not_judge_the_warm_ups_failures(shop: FakeShop, tmp_path: Path) -> None:
    """A real probe against a shop that fails through the warm-up and is healthy after it: the
    preflight (ProbeAdapter.check, as `run` calls it) holds, judging only what followed the warm-up."""
    from bridge.runner.wiring import ProbeAdapter

    d = drill(
        steady_state={
            "probe": {"frontend_url": shop.url, "rate": 40, "timeout": "1s", "operations": ["add_to_cart"]},
            "slo": {"min_samples": 20},
        }
    )
    adapter = ProbeAdapter(d, tmp_path)
    try:
        adapter.start()  # its setup reads the products, so the shop breaks just after
        shop.set("erroring")
        time.sleep(1.0)
        warm = adapter.runner.stats(math.inf).op("add_to_cart")
        assert warm.count > 10 and warm.ok <= 2  # the warm-up really failed (an add may precede the switch)
        reset(shop)
        time.sleep(0.5)  # the warm-up's tail: an erroring answer in flight at the switch lands in it
        adapter.begin_baseline()
        time.sleep(1.0)
        assert adapter.check() is None
        assert adapter.runner.stats(math.inf).op("add_to_cart").success_ratio < 0.9  # type: ignore[operator]
    finally:
        reset(shop)
        adapter.stop()


def test_a_preflight_refused_on_a_saturated_host_says_so(shop: FakeShop, tmp_path: Path) -> None:
    """The refusal keeps the application's figures and adds the host's (a stand-in /proc whose CPU
    is 96 % busy across the check): a drill on a busy machine must say so, not blame the app."""
    from bridge.collectors.host import BusySpan
    from bridge.runner.wiring import ProbeAdapter

    proc = tmp_path / "proc"
    proc.mkdir()
    (proc / "loadavg").write_text("6.40 3.00 1.00 7/700 123\n")
    (proc / "stat").write_text("cpu  1000 0 0 1000 0 0 0 0\n")
    d = drill(
        steady_state={
            "probe": {"frontend_url": shop.url, "rate": 40, "timeout": "1s", "operations": ["add_to_cart"]},
            "slo": {"min_samples": 20},
        }
    )
    adapter = ProbeAdapter(d, tmp_path)
    adapter.busy = BusySpan(proc, cpus=lambda: 2)
    try:
        adapter.start()
        shop.set("erroring")
        adapter.begin_baseline()
        time.sleep(1.0)
        (proc / "stat").write_text("cpu  1960 0 0 1040 0 0 0 0\n")
        reason = adapter.check()
        assert reason is not None and reason.startswith("add_to_cart: ")
        assert "saturated" in reason and "CPU 96 % busy, load average 6.4 on 2 CPU(s)" in reason
    finally:
        reset(shop)
        adapter.stop()
