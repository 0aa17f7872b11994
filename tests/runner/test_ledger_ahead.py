"""An engine that names its objects before creating them is in the ledger before its inject: a
failed inject whose rollback failed too leaves an entry that the run's own recovery retries and
`mqdrill recover RUN` finds (issue 14: a stuck object nothing recorded)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from bridge.engines.base import FaultState, Handle, Plan
from bridge.errors import InjectionError, RecoveryError
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


@dataclass
class StuckObjectEngine(FakeEngine):
    """Creates "an object", fails to confirm it, and cannot delete it until ``unstuck``."""

    unstuck: bool = False
    exists: bool = False

    def planned_handle(self, plan: Plan) -> Handle:
        return Handle(self.name, plan.fault.run_id, f"obj-{plan.fault.cause}")

    def inject(self, plan: Plan) -> Handle:
        self.calls.append("inject")
        self.exists = True
        raise InjectionError("the controller reported a failed injection — rolling back failed too: stuck")

    def status(self, handle: Handle) -> FaultState:
        # the stuck object is still there: `recover` must not call it already ended
        return FaultState("injected" if self.exists else "recovered")

    def recover(self, handle: Handle) -> None:
        self.calls.append(f"recover {handle.ref}")
        if not self.unstuck:
            raise RecoveryError("finalizers still held", leftovers=[handle.ref])
        self.exists = False


def test_a_failed_rollback_is_in_the_ledger_retried_by_the_run_and_found_by_recover(tmp_path: Path) -> None:
    clock, engine = FakeClock(), StuckObjectEngine()
    result = run_drill(drill(windows=WINDOWS), deps_for(engine, clock, FakeProbe(clock)), out=tmp_path / "run")
    assert result.status == "failed"
    assert result.recovery_errors and "finalizers still held" in result.recovery_errors[0]
    events = [json.loads(line) for line in (result.run_dir / "events.jsonl").read_text().splitlines()]
    steps = [f"{e['event']}:{e.get('state', '')}" for e in events if e["event"] in ("inject", "recover")]
    assert steps == ["inject:requested", "inject:failed", "recover:requested", "recover:failed"]
    ledger = Ledger(tmp_path / "ledger")
    (entry,) = ledger.entries(result.run_id)
    assert entry.handle.ref == "obj-process-kill"
    engine.unstuck = True
    report = recover_leftovers(ledger, lambda name: engine, run_id=result.run_id)
    assert report.found == [f"local obj-process-kill (run {result.run_id})"] and report.failed == []
    assert ledger.entries() == [] and not engine.exists


def test_a_clean_failed_inject_leaves_no_entry(tmp_path: Path) -> None:
    clock, engine = FakeClock(), StuckObjectEngine(unstuck=True)
    result = run_drill(drill(windows=WINDOWS), deps_for(engine, clock, FakeProbe(clock)), out=tmp_path / "run")
    assert result.status == "failed" and result.recovery_errors == []
    assert Ledger(tmp_path / "ledger").entries() == []


def test_the_entry_written_ahead_is_replaced_by_the_injected_handle(tmp_path: Path) -> None:
    @dataclass
    class Renaming(FakeEngine):
        def planned_handle(self, plan: Plan) -> Handle:
            return Handle(self.name, plan.fault.run_id, "planned-name")

    clock, engine = FakeClock(), Renaming()
    seen: list[list[str]] = []
    d = drill(windows=WINDOWS)
    in_fault = clock.now + d.windows.warmup + d.windows.baseline + 2  # the warm-up comes before the baseline
    clock.on_sleep.append(
        (in_fault, lambda: seen.append([e.handle.ref for e in Ledger(tmp_path / "ledger").entries()]))
    )
    result = run_drill(d, deps_for(engine, clock, FakeProbe(clock)), out=tmp_path / "run")
    assert result.status == "completed"
    assert seen == [["process-kill-1"]]  # during the fault: only the injected handle
    assert Ledger(tmp_path / "ledger").entries() == []
