"""Fakes for the runner's ports: a clock that sleep advances, an engine that records, a probe
whose statistics follow a script. (Fakes over mocks: they behave, and tests read their state.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.engines.base import EngineName, Fault, FaultState, Handle, Plan
from bridge.errors import InjectionError
from bridge.runner.ports import LiveStats, RunnerDeps
from bridge.spec.models import Drill


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.on_sleep: list[tuple[float, Any]] = []  # (at time, callback) fired once when passed

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        due = [cb for t, cb in self.on_sleep if t <= self.now]
        self.on_sleep = [(t, cb) for t, cb in self.on_sleep if t > self.now]
        for cb in due:
            cb()


@dataclass
class FakeEngine:
    name: EngineName = "local"
    fail_inject: bool = False
    fail_recover: set[str] = field(default_factory=set)
    active: dict[str, Handle] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def plan(self, fault: Fault) -> Plan:
        raise NotImplementedError

    def inject(self, plan: Plan) -> Handle:
        self.calls.append(f"inject {plan.fault.cause}")
        if self.fail_inject:
            raise InjectionError("target not found")
        handle = Handle(self.name, plan.fault.run_id, f"{plan.fault.cause}-{len(self.calls)}")
        self.active[handle.ref] = handle
        return handle

    def status(self, handle: Handle) -> FaultState:
        return FaultState("injected" if handle.ref in self.active else "recovered")

    def recover(self, handle: Handle) -> None:
        self.calls.append(f"recover {handle.ref}")
        if any(handle.ref.startswith(c) for c in self.fail_recover):
            raise RuntimeError("API server gone")
        self.active.pop(handle.ref, None)


@dataclass
class FakeProbe:
    clock: FakeClock
    ratio_during: dict[str, float] = field(default_factory=dict)  # phase -> success ratio
    phase_of: Any = None
    started: bool = False
    stopped: bool = False
    baseline_begun_at: float | None = None  # the clock when the warm-up ended

    def start(self) -> None:
        self.started = True

    def stats(self, window_s: float) -> LiveStats:
        phase = self.phase_of() if self.phase_of else "baseline"
        return LiveStats(count=int(window_s * 10), success_ratio=self.ratio_during.get(phase, 1.0), p95_ms=20.0)

    def check_s(self) -> float:
        return 3.0

    def begin_baseline(self) -> None:
        self.baseline_begun_at = self.clock.now

    def check(self) -> str | None:
        ratio = self.ratio_during.get("preflight", 1.0)
        return None if ratio >= 0.99 else f"add_to_cart: success ratio {ratio:.3f} < 0.99"

    def stop(self) -> None:
        self.stopped = True


def deps_for(engine: FakeEngine, clock: FakeClock, probe: FakeProbe, preflight: str | None = None) -> RunnerDeps:
    def probe_for(drill: Drill, path: Path) -> FakeProbe:
        probe.phase_of = lambda: _last_phase(path)
        return probe

    return RunnerDeps(
        engine_for=lambda name: engine,
        probe_for=probe_for,
        preflight=lambda d: preflight,
        clock=clock,
        sleep=clock.sleep,
    )


def _last_phase(path: Path) -> str:
    import json

    phases = [json.loads(line).get("phase") for line in (path / "events.jsonl").read_text().splitlines()]
    return [p for p in phases if p][-1] if any(phases) else "baseline"
