"""The second application (demo-k8s/orders) on the embedded environment: its shipped drills, run
with http, eventually, rocketmq-canary and prometheus probes, give the verdicts the real faults imply.

- broker killed → **strong**: orders are still accepted (the outbox keeps them: place_order stays
  within its objective), but none is confirmed while the broker is down, the canary's sends fail,
  the notifier consumes nothing and its backlog metric disappears with the broker's exporter.
- name server killed → **weak**: the proxy keeps its cached routes, so every path keeps working.
- broker killed, the notifier judged only by its metrics → **strong**: it consumes nothing, so its
  consume-delay quantile and its consumption rate lose their data a few seconds into the outage.

The drill files are the ones in scenarios/drills/local, with the ports moved to this environment's
offset and short windows; before each drill the order path carries traffic for the prometheus
probe's look back (its first rows are the last seconds before the drill)."""

from __future__ import annotations

import csv
import json
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bridge.env import orders
from bridge.env import prometheus as env_prometheus
from bridge.runner.lifecycle import RunResult, run_drill
from bridge.runner.wiring import build_deps
from bridge.spec.loader import parse_document
from bridge.spec.models import Drill, Windows
from tests.e2e.e2e_support import EmbeddedEnv

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
WINDOWS = Windows(baseline=20, fault=20, recovery=30)
ALL_OPS = ("place_order", "order_confirmed", "canary_send", "canary_delivery", "notifier_delay_p95", "notifier_lag")


@pytest.fixture
def drill_env(embedded_env: EmbeddedEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EmbeddedEnv:
    cfg = embedded_env.config
    deadline = time.monotonic() + 120
    while orders.order_round_trip(cfg, timeout=90) > 1.0 and time.monotonic() < deadline:
        pass  # after a broker kill, the routes come back some seconds after the broker does
    for key, value in {"MQDRILL_STATE": str(embedded_env.state_dir), "MQDRILL_LEDGER": str(tmp_path / "ledger"),
                       "MQDRILL_REPORTS": str(tmp_path / "reports")}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    return embedded_env


def _shipped(env: EmbeddedEnv, name: str) -> Drill:
    """A drill file of scenarios/drills/local with its ports moved to this environment."""
    cfg = env.config
    text = (REPO / "scenarios" / "drills" / "local" / f"{name}.yaml").read_text()
    for port in ("orders", "tp_frontend", "prometheus"):
        text = text.replace(f"127.0.0.1:{cfg.port(port) - cfg.port_offset}", f"127.0.0.1:{cfg.port(port)}")
    drill = parse_document(text, name)
    assert isinstance(drill, Drill)
    return drill.model_copy(update={"windows": WINDOWS})


def _warm(env: EmbeddedEnv, seconds: float = 16.0) -> None:
    """Orders at 10/s, so the notifier's metrics have traffic in the prometheus probe's look back."""
    url = f"{env.config.url('orders')}/api/orders"
    body = json.dumps({"customer": "warm-up", "items": [{"sku": "W", "quantity": 1}]}).encode()
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
        threading.Thread(target=lambda r=req: urllib.request.urlopen(r, timeout=5).read(), daemon=True).start()
        time.sleep(0.1)


def _run(d: Drill, out: Path) -> RunResult:
    return run_drill(d, build_deps(d, report=False), out=out)


def _rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "probe.csv", newline="") as f:
        return list(csv.DictReader(f))


def _events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def _at(events: list[dict[str, Any]], event: str, key: str, value: str) -> float:
    return float(next(e["t"] for e in events if e["event"] == event and e.get(key) == value))


def _failed_share(rows: list[dict[str, str]], op: str, lo: float, hi: float) -> tuple[float, int]:
    sel = [r for r in rows if r["op"] == op and lo <= float(r["t"]) < hi]
    return (sum(r["ok"] == "0" for r in sel) / len(sel) if sel else float("nan")), len(sel)


def _verdict(result: RunResult) -> dict[str, Any]:
    return dict(json.loads((result.run_dir / "verdict.json").read_text())["verdicts"][0])


def test_the_environment_runs_the_second_application_and_prometheus_scrapes_it(embedded_env: EmbeddedEnv) -> None:
    cfg = embedded_env.config
    assert orders.order_round_trip(cfg, timeout=60) < 30
    # a service restarted just before (an earlier test switched the shop's protections back off)
    # is "down" until Prometheus scrapes it again: one scrape interval plus slack
    deadline = time.monotonic() + 30
    while not _all_up(health := env_prometheus.active_targets(cfg)) and time.monotonic() < deadline:
        time.sleep(1)
    assert {"orders", "fulfillment", "notifier", "broker", "frontend", "cartservice"} <= set(health)
    assert _all_up(health), health


def _all_up(health: dict[str, str]) -> bool:
    return bool(health) and all(h == "up" for h in health.values())


def test_a_broker_outage_breaks_the_asynchronous_confirmation_strong(drill_env: EmbeddedEnv, tmp_path: Path) -> None:
    d = _shipped(drill_env, "orders-broker-unavailable")
    _warm(drill_env)
    result = _run(d, tmp_path / "run")
    assert result.status == "completed", result.reason
    rows, ev = _rows(result.run_dir), _events(result.run_dir)
    inject, recover = _at(ev, "inject", "state", "confirmed"), _at(ev, "recover", "state", "requested")
    base = _at(ev, "phase", "phase", "baseline")
    for op in ALL_OPS:
        share, n = _failed_share(rows, op, base, inject - 3)
        assert n > 0 and share <= 0.1, f"{op} must hold in the baseline: {share:.0%} of {n} failed"
    # the synchronous API does not depend on RocketMQ: the outbox keeps the orders
    share, n = _failed_share(rows, "place_order", inject + 1, recover)
    assert n > 100 and share < 0.05, f"place_order: {share:.0%} of {n} failed during the outage"
    # ... but nothing is confirmed while the broker is down, and RocketMQ itself fails end to end
    for op, least in (("order_confirmed", 0.9), ("canary_delivery", 0.9), ("notifier_lag", 0.8)):
        share, n = _failed_share(rows, op, inject + 1, recover)
        assert n >= 10 and share >= least, f"{op}: only {share:.0%} of {n} failed during the outage"
    # the consume-delay quantile is computed over 5 s, so it only loses its data 5 s into the outage
    share, n = _failed_share(rows, "notifier_delay_p95", inject + 6, recover)
    assert n >= 10 and share >= 0.8, f"notifier_delay_p95: only {share:.0%} of {n} failed"
    verdict = _verdict(result)
    assert verdict["strength"] == "strong" and verdict["matches_expected"] is True, verdict["reasons"]


def test_a_name_server_outage_leaves_every_path_within_objectives_weak(drill_env: EmbeddedEnv, tmp_path: Path) -> None:
    d = _shipped(drill_env, "orders-namesrv-unavailable")
    _warm(drill_env)
    result = _run(d, tmp_path / "run")
    assert result.status == "completed", result.reason
    rows, ev = _rows(result.run_dir), _events(result.run_dir)
    inject, recover = _at(ev, "inject", "state", "confirmed"), _at(ev, "recover", "state", "requested")
    for op in ("place_order", "order_confirmed", "canary_delivery", "notifier_lag"):
        share, n = _failed_share(rows, op, inject, recover)
        assert n >= 10 and share <= 0.01, f"{op}: {share:.0%} of {n} failed with the name server down"
    verdict = _verdict(result)
    assert verdict["strength"] == "weak" and verdict["matches_expected"] is True, verdict["reasons"]


def test_a_pure_consumer_judged_only_by_its_metrics_depends_on_the_broker_strongly(
    drill_env: EmbeddedEnv, tmp_path: Path
) -> None:
    d = _shipped(drill_env, "notifier-broker-unavailable")
    _warm(drill_env)
    result = _run(d, tmp_path / "run")
    assert result.status == "completed", result.reason
    rows, ev = _rows(result.run_dir), _events(result.run_dir)
    assert {r["op"] for r in rows} == {"notifier_delay_p95", "notifier_consumed_rate"}  # the orders are only traffic
    inject, recover = _at(ev, "inject", "state", "confirmed"), _at(ev, "recover", "state", "requested")
    for op in ("notifier_delay_p95", "notifier_consumed_rate"):
        share, n = _failed_share(rows, op, inject + 6, recover)  # rates over 5 s: data for the first seconds
        assert n >= 10 and share >= 0.8, f"{op}: only {share:.0%} of {n} failed while the broker was down"
    verdict = _verdict(result)
    assert verdict["app"] == "notifier" and verdict["strength"] == "strong", verdict["reasons"]
