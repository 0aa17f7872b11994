"""Suites with a recording engine: overlap rules, parallelism, resume after Ctrl-C, exit codes, JUnit."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from bridge.engines.base import EngineName, Fault, FaultState, Handle, Plan
from bridge.runner.ports import LiveStats, Progress, RunnerDeps
from bridge.spec.models import Drill
from bridge.suite.junit import junit_xml
from bridge.suite.runner import SuiteOptions, run_suite

WINDOWS = {"warmup": 0, "baseline": 1, "fault": 1, "recovery": 1}  # real time: no warm-up


@dataclass
class RecordingEngine:
    """Records when each component is under a fault and fails the test on any overlap."""

    name: EngineName = "local"
    intervals: list[tuple[str, float, float]] = field(default_factory=list)
    active: dict[str, tuple[str, float]] = field(default_factory=dict)
    overlaps: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, fault: Fault) -> Plan:
        raise NotImplementedError

    def inject(self, plan: Plan) -> Handle:
        with self.lock:
            comp = plan.fault.component
            if any(c == comp for c, _ in self.active.values()):
                self.overlaps.append(comp)
            ref = f"{plan.fault.run_id}-{comp}"
            self.active[ref] = (comp, time.monotonic())
        return Handle(self.name, plan.fault.run_id, ref)

    def status(self, handle: Handle) -> FaultState:
        return FaultState("injected" if handle.ref in self.active else "recovered")

    def recover(self, handle: Handle) -> None:
        with self.lock:
            comp, start = self.active.pop(handle.ref)
            self.intervals.append((comp, start, time.monotonic()))


class QuietProbe:
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def stats(self, window_s: float) -> LiveStats:
        return LiveStats(10, 1.0, 10.0)

    def check_s(self) -> float:
        return 0.1

    def begin_baseline(self) -> None: ...

    def check(self) -> str | None:
        return None


def _factory(
    engine: RecordingEngine, strength: Callable[[Drill], str] = lambda d: d.expected
) -> Callable[..., RunnerDeps]:
    def after_run(path: Path) -> None:
        meta = json.loads((path / "run.json").read_text())
        got = strength(Drill.model_validate(yaml.safe_load((path / "drill.yaml").read_text())))
        verdict = {
            "app": meta["app"],
            "dependency": meta["dependency"],
            "strength": got,
            "recovered": True,
            "expected": meta["expected"],
            "matches_expected": got == meta["expected"],
            "reasons": ["r"],
        }
        (path / "verdict.json").write_text(json.dumps({"schema": "mqdrill.verdict/v1", "verdicts": [verdict]}))

    def deps_for(drill: Drill, progress: Callable[[Progress], None]) -> RunnerDeps:
        return RunnerDeps(
            engine_for=lambda n: engine,
            probe_for=lambda d, p: QuietProbe(),
            preflight=lambda d: None,
            after_run=after_run,
            progress=progress,
            tick_s=0.05,
        )

    return deps_for


def _suite(tmp_path: Path, drills: list[dict[str, object]]) -> Path:
    path = tmp_path / "suite.yaml"
    entries = [{"drill": {"apiVersion": "mqdrill/v1", "kind": "Drill", "windows": WINDOWS, **d}} for d in drills]
    path.write_text(yaml.safe_dump({"apiVersion": "mqdrill/v1", "kind": "Suite", "name": "t", "drills": entries}))
    return path


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQDRILL_LEDGER", str(tmp_path / "ledger"))
    monkeypatch.setenv("MQDRILL_REPORTS", str(tmp_path / "reports"))


BROKER = {"name": "broker-kill", "scenario": "broker-unavailable", "expected": "strong"}
NAMESRV = {"name": "namesrv-kill", "scenario": "namesrv-unavailable", "expected": "weak"}
BROKER_AGAIN = {
    "name": "broker-pause",
    "scenario": "broker-unavailable",
    "causes": ["process-pause"],
    "expected": "strong",
}


def test_drills_that_do_not_overlap_run_in_parallel(tmp_path: Path) -> None:
    engine = RecordingEngine()
    result = run_suite(
        _suite(tmp_path, [BROKER, NAMESRV]), SuiteOptions(parallel=2, out=tmp_path / "s"), _factory(engine)
    )
    assert result.exit_code == 0 and [o.status for o in result.outcomes] == ["completed", "completed"]
    (c1, s1, e1), (c2, s2, e2) = sorted(engine.intervals)
    assert {c1, c2} == {"broker", "namesrv"}
    assert max(s1, s2) < min(e1, e2), "the two faults were on at the same time"
    meta = json.loads((tmp_path / "s" / "suite.json").read_text())
    assert meta["schema"] == "mqdrill.suite/v1" and meta["status"] == "completed"
    assert [r["run_dir"] for r in meta["runs"]] == ["01-broker-kill", "02-namesrv-kill"]
    assert (tmp_path / "s" / "01-broker-kill" / "events.jsonl").exists()


def test_drills_on_the_same_component_never_overlap(tmp_path: Path) -> None:
    engine = RecordingEngine()
    result = run_suite(
        _suite(tmp_path, [BROKER, BROKER_AGAIN, NAMESRV]),
        SuiteOptions(parallel=3, out=tmp_path / "s"),
        _factory(engine),
    )
    assert result.exit_code == 0 and engine.overlaps == []
    broker = sorted((s, e) for c, s, e in engine.intervals if c == "broker")
    assert len(broker) == 2 and broker[0][1] <= broker[1][0]


def test_ctrl_c_recovers_everything_and_resume_completes_the_suite(tmp_path: Path) -> None:
    engine = RecordingEngine()
    path = _suite(tmp_path, [BROKER, NAMESRV, BROKER_AGAIN])
    timer = threading.Timer(1.5, lambda: os.kill(os.getpid(), signal.SIGINT))  # during the first drill's fault
    timer.start()
    first = run_suite(path, SuiteOptions(parallel=1, out=tmp_path / "s"), _factory(engine))
    timer.join()
    assert first.interrupted and first.exit_code == 130
    assert engine.active == {}, "Ctrl-C left a fault on"
    assert [o.status for o in first.outcomes] == ["aborted", "pending", "pending"]
    second = run_suite(path, SuiteOptions(parallel=1, resume=tmp_path / "s"), _factory(engine))
    assert second.exit_code == 0 and [o.status for o in second.outcomes] == ["completed"] * 3
    assert (tmp_path / "s" / "01-broker-kill.attempt-1" / "run.json").exists(), "the interrupted attempt is kept"
    third = run_suite(path, SuiteOptions(parallel=1, resume=tmp_path / "s"), _factory(engine))
    assert third.exit_code == 0 and len(engine.intervals) == 4, "finished drills are skipped on resume"


def test_exit_code_and_junit_follow_the_verdicts(tmp_path: Path) -> None:
    engine = RecordingEngine()
    strength = {"broker-kill": "strong", "namesrv-kill": "strong"}  # the name server turned strong: a regression
    result = run_suite(
        _suite(tmp_path, [BROKER, NAMESRV]),
        SuiteOptions(parallel=2, out=tmp_path / "s"),
        _factory(engine, lambda d: strength[d.display_name]),
    )
    assert result.exit_code == 1
    root = ET.fromstring(junit_xml("t", result.outcomes, result.durations))
    assert root.get("tests") == "2" and root.get("failures") == "1" and root.get("errors") == "0"
    cases = {c.get("name"): c for c in root.iter("testcase")}
    failure = cases["namesrv-kill"].find("failure")
    assert failure is not None and "differs from expected weak" in failure.get("message", "")
    assert cases["broker-kill"].find("failure") is None
