"""The drill lifecycle with fakes: order of events, recovery guaranteed, guard, signals, ledger."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from bridge.runner.ledger import Ledger
from bridge.runner.lifecycle import run_drill
from bridge.runner.recover import recover_leftovers
from tests.runner.fakes import FakeClock, FakeEngine, FakeProbe, deps_for
from tests.support.drills import drill

WINDOWS = {"baseline": 10, "fault": 20, "recovery": 15}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQDRILL_LEDGER", str(tmp_path / "ledger"))
    monkeypatch.setenv("MQDRILL_REPORTS", str(tmp_path / "reports"))


def _events(run_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def _steps(run_dir: Path) -> list[str]:
    return [f"{e['event']}:{e.get('phase') or e.get('state') or ''}" for e in _events(run_dir)]


def test_a_drill_runs_its_phases_in_order_and_recovers(tmp_path: Path) -> None:
    clock, engine = FakeClock(), FakeEngine()
    probe = FakeProbe(clock)
    result = run_drill(drill(windows=WINDOWS), deps_for(engine, clock, probe), out=tmp_path / "run")
    assert result.status == "completed" and result.recovery_errors == []
    assert _steps(result.run_dir) == [
        "phase:warmup",
        "phase:baseline",
        "inject:requested",
        "inject:confirmed",
        "phase:fault",
        "recover:requested",
        "recover:confirmed",
        "phase:recovery",
        "phase:done",
    ]
    ev = {(e["event"], e.get("phase") or e.get("state")): float(e["t"]) for e in _events(result.run_dir)}  # type: ignore[arg-type]
    assert ev[("phase", "baseline")] - ev[("phase", "warmup")] == pytest.approx(5)  # the default warm-up
    # the preflight judges from the end of the warm-up on (the warm-up's rows are never judged)
    assert probe.baseline_begun_at == pytest.approx(ev[("phase", "baseline")])
    assert ev[("phase", "fault")] - ev[("phase", "baseline")] == pytest.approx(10)
    assert ev[("recover", "requested")] - ev[("phase", "fault")] == pytest.approx(20)
    assert ev[("phase", "done")] - ev[("phase", "recovery")] == pytest.approx(15)
    meta = json.loads((result.run_dir / "run.json").read_text())
    assert meta["schema"] == "mqdrill.run/v1" and meta["status"] == "completed" and meta["ended_at"]
    assert meta["scenario"] == "broker-unavailable" and meta["causes"] == ["process-kill"]
    assert meta["app"] == "frontend" and meta["dependency"] == "broker" and meta["protections"]
    # what the analysis needs to judge from the run directory alone (bridge.runner.lifecycle.analysis_meta)
    assert meta["probe"]["timeout_s"] == 2.0 and meta["warmup_s"] == 5.0
    assert meta["tolerances"]["confidence"] == 0.99 and meta["tolerances"]["success_drop"] == 0.005
    assert "steady_state:" in (result.run_dir / "drill.yaml").read_text()
    assert probe.started and probe.stopped and engine.active == {}
    assert Ledger(tmp_path / "ledger").entries() == []


def test_a_failed_preflight_injects_nothing(tmp_path: Path) -> None:
    clock, engine = FakeClock(), FakeEngine()
    probe = FakeProbe(clock)
    result = run_drill(
        drill(), deps_for(engine, clock, probe, preflight="success ratio 0.2 < 0.99"), out=tmp_path / "r"
    )
    assert result.status == "failed" and "success ratio 0.2" in (result.reason or "")
    assert engine.calls == [] and not probe.started
    assert json.loads((result.run_dir / "run.json").read_text())["status"] == "failed"


def test_a_failed_injection_stops_the_drill_without_a_recovery_to_run(tmp_path: Path) -> None:
    clock, engine = FakeClock(), FakeEngine(fail_inject=True)
    result = run_drill(drill(windows=WINDOWS), deps_for(engine, clock, FakeProbe(clock)), out=tmp_path / "r")
    assert result.status == "failed" and "target not found" in (result.reason or "")
    assert "inject:failed" in _steps(result.run_dir) and "phase:fault" not in _steps(result.run_dir)
    assert not [c for c in engine.calls if c.startswith("recover")]


def test_one_failed_recovery_never_skips_the_others_and_stays_in_the_ledger(tmp_path: Path) -> None:
    clock, engine = FakeClock(), FakeEngine(fail_recover={"process-kill"})
    d = drill(windows=WINDOWS, causes=["process-kill", "process-pause"])
    result = run_drill(d, deps_for(engine, clock, FakeProbe(clock)), out=tmp_path / "r")
    assert result.status == "failed" and len(result.recovery_errors) == 1
    assert "process-pause" not in " ".join(engine.active)  # the second fault was recovered
    ledger = Ledger(tmp_path / "ledger")
    assert [e.handle.ref for e in ledger.entries()] == [next(iter(engine.active))]
    # later, `mqdrill recover` finds and ends the leftover, and the run's journal says so
    engine.fail_recover.clear()
    report = recover_leftovers(ledger, lambda name: engine)
    assert len(report.found) == 1 and len(report.recovered) == 1 and report.failed == []
    assert engine.active == {} and ledger.entries() == []
    assert _events(result.run_dir)[-1]["state"] == "confirmed"


def test_the_guard_aborts_and_recovers_early(tmp_path: Path) -> None:
    clock, engine = FakeClock(), FakeEngine()
    probe = FakeProbe(clock, ratio_during={"fault": 0.1})
    d = drill(windows=WINDOWS, safety={"guard": {"success_ratio_min": 0.5, "for": "5s"}})
    result = run_drill(d, deps_for(engine, clock, probe), out=tmp_path / "r")
    assert result.status == "aborted" and "guard" in (result.reason or "")
    ev = _events(result.run_dir)
    fault_at = next(float(e["t"]) for e in ev if e.get("phase") == "fault")  # type: ignore[arg-type]
    recover_at = next(float(e["t"]) for e in ev if e["event"] == "recover")  # type: ignore[arg-type]
    assert 5 <= recover_at - fault_at < 20
    assert engine.active == {}


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_fault_recovers_before_returning(tmp_path: Path, signum: int) -> None:
    clock, engine = FakeClock(), FakeEngine()
    clock.on_sleep.append((clock.now + 20, lambda: os.kill(os.getpid(), signum)))  # 5 s warm-up + 10 s baseline
    result = run_drill(drill(windows=WINDOWS), deps_for(engine, clock, FakeProbe(clock)), out=tmp_path / "r")
    assert result.status == "aborted" and result.interrupted == signum
    assert engine.active == {} and Ledger(tmp_path / "ledger").entries() == []
    steps = _steps(result.run_dir)
    assert steps.index("recover:confirmed") > steps.index("phase:fault")
    assert json.loads((result.run_dir / "run.json").read_text())["status"] == "aborted"


def test_a_second_signal_during_recovery_does_not_stop_it(tmp_path: Path) -> None:
    clock, engine = FakeClock(), FakeEngine()
    original_recover = engine.recover

    def recover_with_signal(handle: object) -> None:
        os.kill(os.getpid(), signal.SIGINT)  # the impatient second Ctrl-C
        original_recover(handle)  # type: ignore[arg-type]

    engine.recover = recover_with_signal  # type: ignore[method-assign]
    clock.on_sleep.append((clock.now + 15, lambda: os.kill(os.getpid(), signal.SIGINT)))
    result = run_drill(drill(windows=WINDOWS), deps_for(engine, clock, FakeProbe(clock)), out=tmp_path / "r")
    assert engine.active == {} and result.recovery_errors == []
    assert result.status == "aborted"


def test_a_steady_state_that_fails_at_the_start_of_the_baseline_injects_nothing(tmp_path: Path) -> None:
    clock, engine = FakeClock(), FakeEngine()
    probe = FakeProbe(clock, ratio_during={"preflight": 0.5})
    result = run_drill(drill(windows=WINDOWS), deps_for(engine, clock, probe), out=tmp_path / "r")
    assert result.status == "failed" and "steady state does not hold" in (result.reason or "")
    assert "success ratio 0.500" in (result.reason or "")
    assert engine.calls == [] and probe.stopped
    assert "inject:requested" not in _steps(result.run_dir)
