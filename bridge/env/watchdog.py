"""The watchdog: a detached process that ends one fault at its deadline, whatever happens to mqdrill.

``python -m bridge.env.watchdog <state_dir> <fault_id>`` is spawned before a fault is applied.
It restarts a killed service after ``restart_after_s`` when asked to (the supervisor a
Kubernetes controller would be), and at ``deadline_at`` takes the fault back unless mqdrill
already did. SIGTERM makes it act at once: exit if the fault is already taken back, else undo.
The loop itself (:func:`watch`) takes its clock and actions as arguments, so it is tested
with a fake clock.
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType


@dataclass
class Plan:
    """When the watchdog acts (Unix seconds)."""

    deadline_at: float
    restart_at: float | None = None


def watch(
    plan: Plan,
    *,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    is_done: Callable[[], bool],
    terminated: Callable[[], bool],
    restart: Callable[[], None],
    end: Callable[[], None],
    tick: float = 0.2,
) -> str:
    """Run until the fault is over; return why: ``retired``, ``deadline`` or ``terminated``."""
    restarted = False
    while True:
        if is_done():
            return "retired"
        if terminated():
            end()
            return "terminated"
        now = clock()
        if plan.restart_at is not None and not restarted and now >= plan.restart_at:
            restart()
            restarted = True
        if now >= plan.deadline_at:
            end()
            return "deadline"
        wake = plan.deadline_at if restarted or plan.restart_at is None else min(plan.deadline_at, plan.restart_at)
        sleep(max(0.0, min(tick, wake - now)))


def main(argv: list[str]) -> int:
    from bridge.env import faultlog
    from bridge.env.config import load_config

    state_dir, fault_id = argv
    cfg = load_config(state_dir)
    record = faultlog.load(cfg, fault_id)
    got_term = {"flag": False}

    def on_term(signum: int, frame: FrameType | None) -> None:
        got_term["flag"] = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    plan = Plan(record["deadline_at"], record.get("restart_at"))

    def restart() -> None:
        try:
            faultlog.supervise_restart(cfg, fault_id)
        except Exception as exc:  # a failed restart must not end the watch before the deadline
            print(f"watchdog {fault_id}: restart failed: {exc}", flush=True)

    def end() -> None:
        for attempt in range(5):
            try:
                faultlog.recover(cfg, fault_id, by="watchdog", retire=False)
                return
            except Exception as exc:  # keep trying: this is the last line of defence
                print(f"watchdog {fault_id}: undo attempt {attempt + 1} failed: {exc}", flush=True)
                time.sleep(2)

    why = watch(
        plan,
        clock=time.time,
        sleep=time.sleep,
        is_done=lambda: faultlog.is_done(cfg, fault_id),
        terminated=lambda: got_term["flag"],
        restart=restart,
        end=end,
    )
    print(f"watchdog {fault_id}: {why} at {time.time():.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
