"""The watchdog's loop with a fake clock: it acts at the deadline, restarts on time, and retires."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import given
from hypothesis import strategies as st

from bridge.env.watchdog import Plan, watch


@dataclass
class FakeWorld:
    now: float = 1000.0
    done_at: float | None = None  # when mqdrill recovers the fault itself
    term_at: float | None = None  # when someone sends SIGTERM
    events: list[tuple[str, float]] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += max(seconds, 0.01)

    def is_done(self) -> bool:
        return self.done_at is not None and self.now >= self.done_at

    def terminated(self) -> bool:
        return self.term_at is not None and self.now >= self.term_at

    def restart(self) -> None:
        self.events.append(("restart", self.now))

    def end(self) -> None:
        self.events.append(("end", self.now))


def _run(world: FakeWorld, plan: Plan) -> str:
    return watch(
        plan,
        clock=world.clock,
        sleep=world.sleep,
        is_done=world.is_done,
        terminated=world.terminated,
        restart=world.restart,
        end=world.end,
    )


@given(st.floats(min_value=0.5, max_value=3600))
def test_fault_ends_at_its_deadline_not_before(duration: float) -> None:
    world = FakeWorld()
    plan = Plan(deadline_at=world.now + duration)
    assert _run(world, plan) == "deadline"
    [(what, when)] = world.events
    assert what == "end"
    assert plan.deadline_at <= when <= plan.deadline_at + 0.2


@given(st.floats(min_value=0.1, max_value=50), st.floats(min_value=51, max_value=300))
def test_supervisor_restarts_once_then_fault_ends(restart_after: float, duration: float) -> None:
    world = FakeWorld()
    start = world.now
    plan = Plan(deadline_at=start + duration, restart_at=start + restart_after)
    assert _run(world, plan) == "deadline"
    assert [e for e, _ in world.events] == ["restart", "end"]
    assert start + restart_after <= world.events[0][1] <= start + restart_after + 0.2


def test_recovered_by_mqdrill_retires_the_watchdog_without_acting() -> None:
    world = FakeWorld(done_at=1010.0)
    assert _run(world, Plan(deadline_at=1060.0)) == "retired"
    assert world.events == []
    assert world.now < 1060.0


def test_sigterm_before_recovery_ends_the_fault_at_once() -> None:
    world = FakeWorld(term_at=1005.0)
    assert _run(world, Plan(deadline_at=1060.0)) == "terminated"
    assert world.events == [("end", world.now)]
    assert world.now < 1006.0


def test_a_deadline_already_past_ends_the_fault_immediately() -> None:
    world = FakeWorld()
    assert _run(world, Plan(deadline_at=world.now - 5)) == "deadline"
    assert world.events == [("end", 1000.0)]
