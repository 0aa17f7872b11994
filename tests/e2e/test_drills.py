"""Whole drills on the embedded environment: the runner, the real local engine, the open-loop
probe against the real demo shop, collectors, analysis. Windows are short; tolerances are stated
where the real system needs them (a killed broker takes seconds to be routed to again)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bridge.runner.lifecycle import RunResult, run_drill
from bridge.runner.wiring import build_deps
from tests.e2e.e2e_support import EmbeddedEnv, settled
from tests.support.drills import drill

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
# How long after a restarted broker is confirmed the shop sends again, at worst, link by link
# (docs/environment.md, "After a broker restart"): the broker's first name-server registration
# (at boot, or 10 s later when boot loses the race with its own name-server scan); the proxy's
# route cache, then its topic-config cache (each refreshed on access, 5 s after its last load);
# the client's 30 s route poll, which may fetch a route whose queues still accept only
# UNSPECIFIED messages and then refuse sends itself until its next poll; an add's 5 s to show.
BROKER_REGISTERS_S, PROXY_CACHES_S, CLIENT_ROUTE_POLL_S, VISIBLE_S = 10.0, 12.0, 30.0, 5.0
ROUTE_BACK_S = BROKER_REGISTERS_S + PROXY_CACHES_S + CLIENT_ROUTE_POLL_S + VISIBLE_S


@pytest.fixture
def drill_env(embedded_env: EmbeddedEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    settled(embedded_env)
    env = {
        "MQDRILL_STATE": str(embedded_env.state_dir),
        "MQDRILL_LEDGER": str(tmp_path / "ledger"),
        "MQDRILL_REPORTS": str(tmp_path / "reports"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def _drill(env: EmbeddedEnv, **fields: Any) -> Any:
    probe = {"frontend_url": env.frontend_url, "rate": 20, **fields.pop("probe", {})}
    return drill(steady_state={"probe": probe, **fields.pop("steady_state", {})}, **fields)


def _rows(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "probe.csv", newline="") as f:
        return list(csv.DictReader(f))


def _events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def _at(events: list[dict[str, Any]], event: str, key: str, value: str) -> float:
    return float(next(e["t"] for e in events if e["event"] == event and e.get(key) == value))


def _run(d: Any, out: Path) -> RunResult:
    return run_drill(d, build_deps(d, report=False), out=out)


def _failures(rows: list[dict[str, str]], op: str, lo: float, hi: float) -> tuple[int, int]:
    sel = [r for r in rows if r["op"] == op and lo <= float(r["t"]) < hi]
    return sum(r["ok"] == "0" for r in sel), len(sel)


def _not_back(rows: list[dict[str, str]], recovered: float, result: RunResult) -> str:
    """Why the cart did not come back: failures per second after recovery, the shop's last errors."""
    late = (float(r["t"]) - recovered for r in rows if r["op"] == "cart_visible" and r["ok"] == "0")
    per_s = dict(sorted(Counter(int(dt) for dt in late if dt >= 0).items()))
    tails = []
    for service in ("frontend", "cartservice"):
        log = result.run_dir / "logs" / f"{service}.log"
        errors = [line for line in log.read_text().splitlines() if "failed" in line] if log.exists() else []
        tails.append(f"{service}: {errors[-1][:300] if errors else 'no errors'}")
    return f"the cart must come back; failures by second after recovery {per_s}; last errors: {tails}"


def test_broker_kill_breaks_the_rocketmq_channel_only_during_the_fault(
    embedded_env: EmbeddedEnv, drill_env: dict[str, str], tmp_path: Path
) -> None:
    # the recovery window leaves 10 s after the worst case to see a clean cart; at 10 requests a
    # second, a fault window of 12 s holds the 100 samples a verdict needs even on a busy machine
    windows = {"baseline": 8, "fault": 12, "recovery": int(ROUTE_BACK_S) + 10}
    d = _drill(embedded_env, causes=["process-kill"], windows=windows)
    result = _run(d, tmp_path / "run")
    assert result.status == "completed", result.reason
    rows, ev = _rows(result.run_dir), _events(result.run_dir)
    start, inject = _at(ev, "phase", "phase", "baseline"), _at(ev, "inject", "state", "confirmed")
    requested = _at(ev, "inject", "state", "requested")
    recover, end = _at(ev, "recover", "state", "requested"), _at(ev, "phase", "phase", "done")
    recovered = _at(ev, "recover", "state", "confirmed")
    failed, total = _failures(rows, "cart_visible", inject + 1, recover)
    assert total > 100 and failed / total > 0.9, "items must stop reaching the cart while the broker is down"
    # an add sent in the last moment before the kill may be stored but not yet consumed: 1 s of slack
    assert _failures(rows, "cart_visible", start, requested - 1.0)[0] == 0, "the baseline must be clean"
    assert _failures(rows, "cart_visible", recovered + ROUTE_BACK_S, end)[0] == 0, _not_back(rows, recovered, result)
    # like the original demo, the frontend only logs send errors: add_to_cart keeps answering
    failed_adds, adds = _failures(rows, "add_to_cart", inject + 1, recover)
    assert adds > 100 and failed_adds / adds < 0.1
    verdict = json.loads((result.run_dir / "verdict.json").read_text())["verdicts"][0]
    assert verdict["strength"] == "strong" and verdict["recovered"] is True, verdict["reasons"]
    assert (result.run_dir / "metrics.csv").stat().st_size > 0
    assert (result.run_dir / "logs" / "frontend.log").exists() and (result.run_dir / "logs" / "signatures.csv").exists()


def test_the_same_broker_kill_does_not_touch_the_http_channel(
    embedded_env: EmbeddedEnv, drill_env: dict[str, str], tmp_path: Path
) -> None:
    d = _drill(
        embedded_env, channel="http", causes=["process-kill"], windows={"baseline": 6, "fault": 12, "recovery": 8}
    )
    result = _run(d, tmp_path / "run")
    assert result.status == "completed", result.reason
    rows = _rows(result.run_dir)
    assert len(rows) > 400 and sum(r["ok"] == "0" for r in rows) == 0
    verdict = json.loads((result.run_dir / "verdict.json").read_text())["verdicts"][0]
    assert verdict["strength"] == "weak", verdict["reasons"]


def test_send_latency_shifts_add_to_cart_latency(
    embedded_env: EmbeddedEnv, drill_env: dict[str, str], tmp_path: Path
) -> None:
    d = _drill(
        embedded_env,
        scenario="send-latency",
        causes=["network-delay"],
        params={"latency_ms": 300, "client": "frontend", "direction": "to"},
        steady_state={"slo": {"latency_p95_ms_max": 2000, "visibility_s_max": 10}},
        windows={"baseline": 6, "fault": 8, "recovery": 6},
    )
    result = _run(d, tmp_path / "run")
    assert result.status == "completed", result.reason
    rows, ev = _rows(result.run_dir), _events(result.run_dir)
    inject, recover = _at(ev, "inject", "state", "confirmed"), _at(ev, "recover", "state", "requested")

    def median(lo: float, hi: float) -> float:
        lat = sorted(
            float(r["latency_ms"])
            for r in rows
            if r["op"] == "add_to_cart" and r["latency_ms"] and lo <= float(r["t"]) < hi
        )
        return lat[len(lat) // 2]

    assert median(inject + 1, recover - 1) - median(0, inject) >= 250


def test_a_drill_whose_steady_state_fails_injects_nothing(
    embedded_env: EmbeddedEnv, drill_env: dict[str, str], tmp_path: Path
) -> None:
    d = _drill(embedded_env, steady_state={"slo": {"latency_p95_ms_max": 0.001}}, windows={"baseline": 10})
    result = _run(d, tmp_path / "run")
    assert result.status == "failed" and "steady state does not hold" in (result.reason or "")
    assert not [e for e in _events(result.run_dir) if e["event"] == "inject"]


def _broker_ok(env: EmbeddedEnv) -> bool:
    from bridge.env import status

    part = status(env.config)["services"]["broker"]
    return bool(part["running"] and part["state"] != "T")


def _start_run(drill_file: Path, out: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bridge", "run", str(drill_file), "--out", str(out), "--json", "--no-report"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_fault(out: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (out / "events.jsonl").exists() and '"phase":"fault"' in (out / "events.jsonl").read_text():
            return
        time.sleep(0.2)
    raise AssertionError("the drill never reached its fault window")


def _write_drill(env: EmbeddedEnv, path: Path, cause: str, fault_s: int) -> Path:
    import yaml

    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "mqdrill/v1",
                "kind": "Drill",
                "scenario": "broker-unavailable",
                "causes": [cause],
                # 12 s: the shortest baseline `run` accepts at the default rate (bridge/spec/sizing.py)
                "windows": {"baseline": 12, "fault": fault_s, "recovery": 4},
                "steady_state": {"probe": {"frontend_url": env.frontend_url}},
            }
        )
    )
    return path


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_fault_recovers_and_completes_the_run_directory(
    embedded_env: EmbeddedEnv, drill_env: dict[str, str], tmp_path: Path, signum: int
) -> None:
    out = tmp_path / "run"
    proc = _start_run(_write_drill(embedded_env, tmp_path / "d.yaml", "process-pause", 60), out, drill_env)
    _wait_for_fault(out)
    time.sleep(2)
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "aborted" and meta["ended_at"]
    assert [e["state"] for e in _events(out) if e["event"] == "recover"] == ["requested", "confirmed"]
    assert _broker_ok(embedded_env), "the broker must be thawed"
    assert not list(Path(drill_env["MQDRILL_LEDGER"]).glob("*.json")), "the ledger must be empty"


def test_sigkill_during_the_fault_the_hard_end_still_ends_it_and_recover_cleans_up(
    embedded_env: EmbeddedEnv, drill_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    proc = _start_run(_write_drill(embedded_env, tmp_path / "d.yaml", "process-pause", 5), out, drill_env)
    _wait_for_fault(out)
    time.sleep(1.5)
    proc.kill()
    killed_at = time.time()
    proc.communicate(timeout=10)
    assert not _broker_ok(embedded_env), "the broker is still frozen right after the kill"
    meta = json.loads((out / "run.json").read_text())
    assert meta["status"] == "running", "a killed run is recognisable"
    rows = _rows(out)
    assert rows and max(float(r["t"]) for r in rows) >= killed_at - 2.0, "rows up to the last second before the kill"
    deadline = max(e["deadline"] for e in _events(out) if e.get("state") == "confirmed" and "deadline" in e)
    while time.time() < deadline + 5 and not _broker_ok(embedded_env):
        time.sleep(0.5)
    assert _broker_ok(embedded_env), "the watchdog ended the fault by its hard end"
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "recover", "--all", "--json"],
        env={**os.environ, **drill_env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    report = json.loads(done.stdout)
    assert done.returncode == 0 and len(report["found"]) == 1 and len(report["recovered"]) == 1
    # not just "found": the watchdog already ended it, and recover says so, with when
    assert report["already_ended"] == report["found"] and "already ended by the watchdog at " in report["found"][0]
    assert _events(out)[-1]["event"] == "recover" and _events(out)[-1]["state"] == "confirmed"
