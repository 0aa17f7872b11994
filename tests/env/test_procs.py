"""bridge.env.procs reads a process's CPU time from /proc the way the kernel accounts it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from bridge.env import procs


def test_cpu_seconds_of_this_process_is_what_the_kernel_reports_to_it() -> None:
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass  # burn some user time, so fields in the wrong place would not agree by luck
    own = os.times()
    cpu = procs.cpu_seconds(os.getpid())
    assert cpu is not None
    assert abs(cpu - (own.user + own.system)) < 0.1, (cpu, own)


def test_cpu_seconds_of_an_idle_child_stays_low_and_of_a_gone_pid_is_none() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.5)
        cpu = procs.cpu_seconds(child.pid)
        assert cpu is not None and 0 <= cpu < 1.0, "an interpreter's start, then sleep"
    finally:
        child.kill()
        child.wait()
    assert procs.cpu_seconds(child.pid) is None
