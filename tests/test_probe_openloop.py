"""The open-loop probe against a stand-in shop over real sockets: rows, stalls, visibility, stats."""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.probes import HEADER, ProbeConfig, ProbeRunner, read_rows
from tests.support.fake_shop import PRODUCT, FakeShop, reset, running_shop


@pytest.fixture(scope="module")
def shared_shop() -> Iterator[FakeShop]:
    with running_shop() as shop:
        yield shop


@pytest.fixture
def shop(shared_shop: FakeShop) -> Iterator[FakeShop]:
    yield reset(shared_shop)
    reset(shared_shop)


def config(shop: FakeShop, **overrides: object) -> ProbeConfig:
    settings: dict[str, object] = {
        "frontend_url": shop.url,
        "rate": 40.0,
        "timeout_s": 0.5,
        "operations": ("add_to_cart", "cart_visible"),
        "channel": "rocketmq",
        "visibility_s_max": 1.0,
        "run_id": "t1",
    }
    settings.update(overrides)
    return ProbeConfig(**settings)  # type: ignore[arg-type]


def run_for(cfg: ProbeConfig, csv: Path, seconds: float) -> list[dict[str, str]]:
    runner = ProbeRunner(cfg, csv)
    runner.start()
    time.sleep(seconds)
    runner.stop()
    return read_rows(csv)


def by_op(rows: list[dict[str, str]], op: str) -> list[dict[str, str]]:
    return sorted((r for r in rows if r["op"] == op), key=lambda r: float(r["t"]))


def test_rows_follow_the_contract_and_intended_times_are_evenly_spaced(shop: FakeShop, tmp_path: Path) -> None:
    cfg = config(shop, channel="http")
    rows = run_for(cfg, tmp_path / "probe.csv", 1.5)

    assert (tmp_path / "probe.csv").read_text().splitlines()[0] == ",".join(HEADER)
    adds, visible = by_op(rows, "add_to_cart"), by_op(rows, "cart_visible")
    assert len(adds) == len(visible) and 40 <= len(adds) <= 80
    for row in adds:
        assert (row["ok"], row["mode"], row["status"], row["error"]) == ("1", "http", "302", "")
        assert float(row["sent"]) >= float(row["t"]) - 1e-4 and float(row["latency_ms"]) > 0
    for row in visible:
        assert (row["ok"], row["status"]) == ("1", "200") and float(row["latency_ms"]) >= 0
    starts = [float(r["t"]) for r in adds]
    steps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert all(math.isclose(s, 1 / cfg.rate, abs_tol=2e-5) for s in steps)
    # One fresh user per request: every add landed in its own cart, for the product from GET /products.
    assert len(shop.state.carts) == len(adds)
    assert all(user.startswith("probe-t1-") and p == PRODUCT for user, (_, p) in shop.state.carts.items())


def test_a_stall_yields_failed_rows_at_the_scheduled_times_not_a_gap(shop: FakeShop, tmp_path: Path) -> None:
    rate, timeout, stall_s = 50.0, 0.3, 1.5
    cfg = config(shop, rate=rate, timeout_s=timeout, operations=("add_to_cart",))
    runner = ProbeRunner(cfg, tmp_path / "probe.csv")
    runner.start()
    time.sleep(0.8)
    stall_from = time.time()
    shop.set("stalled")
    time.sleep(stall_s)
    stall_to = time.time()
    shop.set("normal")
    time.sleep(0.8)
    runner.stop()

    rows = by_op(read_rows(tmp_path / "probe.csv"), "add_to_cart")
    starts = [float(r["t"]) for r in rows]
    assert all(math.isclose(b - a, 1 / rate, abs_tol=2e-5) for a, b in zip(starts, starts[1:], strict=False))
    during = [r for r in rows if stall_from <= float(r["t"]) < stall_to]
    assert abs(len(during) - rate * stall_s) <= 3  # the schedule went on through the stall
    failed = [r for r in rows if r["ok"] == "0"]
    # Requests sent in the stall's last `timeout` seconds were answered when it lifted; the rest timed out.
    expected = rate * (stall_s - timeout)
    assert expected * 0.75 <= len(failed) <= expected * 1.25 + 3
    assert all(r["error"] == "timeout" and r["latency_ms"] == "" and r["status"] == "" for r in failed)
    assert all(stall_from - 0.1 <= float(r["t"]) <= stall_to for r in failed)
    answered_in_stall = [r for r in during if r["ok"] == "1"]
    assert answered_in_stall and min(float(r["latency_ms"]) for r in answered_in_stall) > 0


def test_visibility_delay_is_recorded_as_latency(shop: FakeShop, tmp_path: Path) -> None:
    shop.set("normal", visible_after_s=0.2)
    rows = run_for(config(shop, rate=20.0), tmp_path / "probe.csv", 1.0)
    visible = by_op(rows, "cart_visible")
    assert len(visible) == len(by_op(rows, "add_to_cart")) >= 10
    assert all(r["ok"] == "1" for r in visible)
    delays = [float(r["latency_ms"]) for r in visible]
    # Measured from the add's answer, which reaches us a little after the shop stored the item.
    assert min(delays) >= 180 and max(delays) < 1000


def test_an_item_never_visible_fails_every_visibility_row_at_the_bound(shop: FakeShop, tmp_path: Path) -> None:
    shop.set("never_visible")
    rows = run_for(config(shop, rate=20.0, visibility_s_max=0.3), tmp_path / "probe.csv", 1.0)
    adds, visible = by_op(rows, "add_to_cart"), by_op(rows, "cart_visible")
    assert all(r["ok"] == "1" for r in adds)
    assert len(visible) == len(adds) >= 10
    for row in visible:
        assert row["ok"] == "0" and row["latency_ms"] == "" and row["status"] == "200"
        assert row["error"].startswith("not seen within 0.3s")


def test_server_errors_fail_both_operations_with_the_status(shop: FakeShop, tmp_path: Path) -> None:
    runner = ProbeRunner(config(shop, rate=30.0, product_id=PRODUCT), tmp_path / "probe.csv")
    runner.start()
    shop.set("erroring")
    time.sleep(2.5)
    stats = runner.stats(window_s=1)  # whole seconds back to now - 1: all after the switch
    runner.stop()
    rows = read_rows(tmp_path / "probe.csv")
    failed_adds = [r for r in by_op(rows, "add_to_cart") if r["ok"] == "0"]
    assert len(failed_adds) >= 20
    assert all(r["status"] == "500" and r["error"] == "http 500" and r["latency_ms"] for r in failed_adds)
    failed_t = {r["t"] for r in failed_adds}
    assert {r["t"] for r in by_op(rows, "cart_visible") if r["error"] == "add_to_cart failed: http 500"} == failed_t
    assert stats.op("add_to_cart").count > 0 and stats.op("add_to_cart").success_ratio == 0.0


def test_live_stats_show_latency_of_a_slow_server(shop: FakeShop, tmp_path: Path) -> None:
    shop.set("slow", delay_s=0.12)
    runner = ProbeRunner(config(shop, rate=30.0, operations=("add_to_cart",), timeout_s=1.0), None)
    runner.start()
    time.sleep(1.2)
    stats = runner.stats(window_s=5)
    runner.stop()
    add = stats.op("add_to_cart")
    assert add.count >= 20 and add.success_ratio == 1.0
    assert add.p50_ms is not None and add.p95_ms is not None and 120 <= add.p50_ms <= add.p95_ms
    assert stats.scheduled >= add.count and stats.overflow == 0


def test_overflow_beyond_the_in_flight_bound_is_recorded_as_failures(shop: FakeShop, tmp_path: Path) -> None:
    shop.set("stalled")
    cfg = config(shop, rate=50.0, timeout_s=2.0, max_in_flight=5, product_id=PRODUCT)
    runner = ProbeRunner(cfg, tmp_path / "probe.csv")
    runner.start()
    time.sleep(0.6)
    reset(shop)
    outcome = runner.stop()
    rows = read_rows(tmp_path / "probe.csv")
    refused = [r for r in rows if r["error"].startswith("overflow")]
    assert outcome.overflow >= 15 and len(refused) == 2 * outcome.overflow
    assert all(r["sent"] == "" and r["ok"] == "0" for r in refused)
    assert Counter(r["op"] for r in rows) == {"add_to_cart": outcome.scheduled, "cart_visible": outcome.scheduled}


def test_rows_reach_the_file_while_the_probe_runs(shop: FakeShop, tmp_path: Path) -> None:
    csv = tmp_path / "probe.csv"
    runner = ProbeRunner(config(shop, rate=40.0, operations=("add_to_cart",)), csv)
    runner.start()
    time.sleep(1.6)
    on_disk = read_rows(csv)  # read before stop(): only what the periodic flush delivered
    completed = runner.stats(window_s=math.inf).op("add_to_cart").count
    runner.stop()
    assert len(on_disk) >= 20 and completed - len(on_disk) <= 40


def test_a_visibility_only_probe_still_adds_but_writes_only_visibility_rows(shop: FakeShop, tmp_path: Path) -> None:
    rows = run_for(config(shop, operations=("cart_visible",)), tmp_path / "probe.csv", 1.0)
    assert {r["op"] for r in rows} == {"cart_visible"} and len(rows) >= 20
    assert all(r["ok"] == "1" for r in rows) and shop.state.adds >= len(rows)
