"""scripts/test's lanes: every test runs in exactly one lane, the lanes' port layouts never meet,
and the machine lock lets exclusive tests run alone without starving them."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from bridge.env.config import DEFAULT_PORTS
from tests.support.lanes import (
    LANES,
    NOT_TESTS,
    ROOT,
    UNIT,
    lane_paths,
    progress,
    pytest_argv,
    stop,
    summary,
    wait_for_lead,
)
from tests.support.machine_lock import held_alone, holding_machine

FIXED_UNIT_OFFSETS = (300, 6000, 6100, 7000)  # layouts unit tests start real services on


def _files(path: str) -> set[str]:
    p = ROOT / path
    found = [p] if p.is_file() else p.rglob("test_*.py")
    return {f.relative_to(ROOT).as_posix() for f in found}


def test_every_test_file_runs_in_exactly_one_lane() -> None:
    every = {
        f.relative_to(ROOT).as_posix()
        for f in (ROOT / "tests").rglob("test_*.py")
        if not any(f.relative_to(ROOT).as_posix().startswith(skip + "/") for skip in NOT_TESTS)
    }
    seen: dict[str, str] = {}
    twice = []
    for lane in LANES:
        for path in lane_paths(lane):
            for f in _files(path):
                if f in seen:
                    twice.append((f, seen[f], lane.name))
                seen[f] = lane.name
    assert not twice, f"in two lanes: {twice}"
    assert sorted(every - set(seen)) == [], "give these test files a lane in tests/support/lanes.py"
    assert sum(UNIT in lane.paths for lane in LANES) == 1


def test_the_unit_tier_runs_niced_and_no_lane_that_judges_time_does(tmp_path: Path) -> None:
    for lane in LANES:
        argv = pytest_argv(lane, tmp_path)
        if lane.paths == (UNIT,):
            assert lane.nice > 0 and argv[:3] == ["nice", "-n", str(lane.nice)]
        else:
            # a drill judges its latency: niced, it would measure the scheduler, not the application
            assert UNIT not in lane.paths and lane.nice == 0 and argv[0] == sys.executable


def _bound(offset: int) -> set[int]:
    ports = {p + offset for p in DEFAULT_PORTS.values()}
    return ports | {DEFAULT_PORTS[b] + offset + d for b in ("broker", "broker_b") for d in (-2, 1)}


def test_no_two_port_layouts_of_the_lanes_or_the_unit_tests_share_a_port() -> None:
    offsets = [o for lane in LANES for o in lane.offsets] + list(FIXED_UNIT_OFFSETS)
    assert len(set(offsets)) == len(offsets)
    for i, a in enumerate(offsets):
        for b in offsets[i + 1 :]:
            assert not _bound(a) & _bound(b), (a, b)
    assert max(max(_bound(o)) for o in offsets) < 32300, "below the test bed's 32300-32399 and the ephemeral range"


def _hold(directory: Path, exclusive: bool, log: list[str], name: str, hold_s: float) -> threading.Thread:
    def body() -> None:
        with holding_machine(directory, exclusive):
            log.append(f"+{name}")
            time.sleep(hold_s)
            log.append(f"-{name}")

    thread = threading.Thread(target=body)
    thread.start()
    return thread


def test_an_exclusive_holder_waits_for_shared_ones_and_new_shared_ones_wait_for_it(tmp_path: Path) -> None:
    log: list[str] = []
    a = _hold(tmp_path, False, log, "a", 0.6)
    b = _hold(tmp_path, False, log, "b", 0.6)
    time.sleep(0.2)
    x = _hold(tmp_path, True, log, "x", 0.4)
    time.sleep(0.2)
    c = _hold(tmp_path, False, log, "c", 0.1)  # came after x asked: must not overtake it
    for t in (a, b, x, c):
        t.join(10)
    assert set(log[:2]) == {"+a", "+b"}, log
    assert log.index("+x") > max(log.index("-a"), log.index("-b")), log
    assert log.index("-x") == log.index("+x") + 1, "nobody ran beside the exclusive holder"
    assert log.index("+c") > log.index("-x"), "a later shared holder did not overtake the waiting exclusive one"


def test_held_alone_tells_an_exclusive_hold_from_a_shared_one_and_takes_nothing(tmp_path: Path) -> None:
    assert not held_alone(tmp_path), "no lock file yet"
    log: list[str] = []
    shared = _hold(tmp_path, False, log, "s", 0.5)
    time.sleep(0.2)
    assert not held_alone(tmp_path)
    shared.join(5)
    alone = _hold(tmp_path, True, log, "x", 0.5)
    time.sleep(0.2)
    assert held_alone(tmp_path)
    alone.join(5)
    assert not held_alone(tmp_path)
    with holding_machine(tmp_path, exclusive=True):  # the probes left nothing held behind
        pass


def _lead(tmp_path: Path, script: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env={"PYTHONPATH": str(ROOT)})


def test_the_other_lanes_start_once_the_first_holds_the_machine_or_has_exited(tmp_path: Path) -> None:
    takes = (
        "import time\nfrom pathlib import Path\nfrom tests.support.machine_lock import holding_machine\n"
        f"time.sleep(0.5)\nwith holding_machine(Path({str(tmp_path)!r}), True):\n    time.sleep(30)\n"
    )
    lead = _lead(tmp_path, takes)
    try:
        assert wait_for_lead(lead, tmp_path, timeout_s=20) == "holds the machine"
        assert lead.poll() is None, "it returned while the lead still held the machine, not after"
    finally:
        lead.kill()
        lead.wait()
    gone = _lead(tmp_path, "import sys; sys.exit(3)")
    assert wait_for_lead(gone, tmp_path / "none", timeout_s=20) == "exited (3)"
    idle = _lead(tmp_path, "import time; time.sleep(30)")
    try:
        assert wait_for_lead(idle, tmp_path / "none", timeout_s=0.5) == "did not take the machine in 0.5 s"
    finally:
        idle.kill()
        idle.wait()


def test_progress_and_summary_read_a_pytest_quiet_log() -> None:
    log = "....F...s.                 [ 40%]\n..E.                       [ 56%]\n\n=== 2 failed, 9 passed in 3.1s ===\n"
    assert progress(log) == "14 done (56 %), 2 failed"
    assert progress("") == "0 done (0 %)"
    assert summary(log) == "2 failed, 9 passed in 3.1s"


def test_stop_repeats_sigint_until_a_lane_that_takes_the_first_one_as_a_drills_abort_exits(tmp_path: Path) -> None:
    # a stand-in lane that, like a drill, swallows the first SIGINT and exits on the second
    script = (
        "import signal, sys, time\n"
        "seen = []\n"
        "def on_int(*_):\n"
        "    seen.append(1)\n"
        "    if len(seen) >= 2: sys.exit(7)\n"
        "signal.signal(signal.SIGINT, on_int)\n"
        "print('ready', flush=True)\n"
        "while True: time.sleep(0.05)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
    stop([proc], every_s=0.3)
    assert proc.returncode == 7, "it exited by its second SIGINT"


class _Item:
    """What the conftest's lock hook reads of a pytest item: its markers."""

    def __init__(self, *marks: str) -> None:
        self.marks = set(marks)

    def get_closest_marker(self, name: str) -> object | None:
        return name if name in self.marks else None


def test_only_the_tiers_tests_take_the_lock_and_only_heavy_starts_take_it_alone() -> None:
    import tests.conftest as hooks

    started = set(hooks._started)
    hooks._started.clear()
    try:
        assert hooks._lock_mode(_Item(), ("tmp_path",)) is None  # a unit test runs unlocked
        assert hooks._lock_mode(_Item("k8s", "browser"), ()) is None
        for mark in ("e2e", "realk8s", "realblade"):
            assert hooks._lock_mode(_Item(mark), ("tmp_path",)) == "shared"
        assert hooks._lock_mode(_Item("e2e", "machine_exclusive"), ()) == "exclusive"
        assert hooks._lock_mode(_Item("e2e"), ("embedded_env",)) == "exclusive"  # it starts the environment
        hooks._started.add("embedded_env")
        assert hooks._lock_mode(_Item("e2e"), ("embedded_env",)) == "shared"  # already running
        assert hooks._lock_mode(_Item("realk8s"), ("real_cluster",)) == "exclusive"
    finally:
        hooks._started.clear()
        hooks._started.update(started)
