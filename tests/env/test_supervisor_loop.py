"""The host supervisor's loop on a fake clock: restart after the delay, never after `env down`."""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.env.supervisor import watch


@dataclass
class Host:
    """One service's world: up or down, managed (pid file present) or not, and a clock."""

    now: float = 0.0
    up: bool = True
    managed: bool = True
    restarts: list[float] = field(default_factory=list)
    events: dict[float, str] = field(default_factory=dict)  # at time t: "kill" | "unmanage"

    def sleep(self, s: float) -> None:
        for t in sorted(self.events):
            if self.now < t <= self.now + s:
                if self.events[t] == "kill":
                    self.up = False
                else:
                    self.managed = False
        self.now += s

    def restart(self) -> None:
        self.restarts.append(self.now)
        self.up = True

    def run(self, *, until: float, restart_after: float = 5.0) -> str:
        return watch(
            restart_after_s=lambda: restart_after,
            until=lambda: until,
            clock=lambda: self.now,
            sleep=self.sleep,
            is_up=lambda: self.up,
            is_managed=lambda: self.managed,
            terminated=lambda: False,
            restart=self.restart,
        )


def test_a_killed_service_is_restarted_after_the_delay_once() -> None:
    host = Host(events={10.0: "kill"})
    assert host.run(until=60.0, restart_after=5.0) == "until"
    assert len(host.restarts) == 1
    assert 15.0 <= host.restarts[0] <= 16.0


def test_each_kill_gets_its_own_restart() -> None:
    host = Host(events={10.0: "kill", 30.0: "kill"})
    host.run(until=60.0, restart_after=2.0)
    assert [round(t) for t in host.restarts] == [12, 32]


def test_a_service_down_at_the_end_is_still_brought_back_before_leaving() -> None:
    host = Host(events={58.0: "kill"})
    assert host.run(until=60.0, restart_after=5.0) == "until"
    assert host.restarts and host.up


def test_env_down_is_not_undone() -> None:
    # `env down` removes the pid file and stops the service: the supervisor leaves it down.
    host = Host(events={10.0: "unmanage", 10.1: "kill"})
    assert host.run(until=60.0) == "unmanaged"
    assert host.restarts == []


def test_released_it_still_brings_a_down_service_back_then_leaves() -> None:
    host = Host(up=False)  # released (until 0) while the killed service is still down
    assert host.run(until=0.0, restart_after=5.0) == "until"
    assert len(host.restarts) == 1 and 5.0 <= host.restarts[0] <= 6.0 and host.up
