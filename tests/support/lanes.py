"""`scripts/test --lanes`: the test tiers side by side, toward a warm run under 20 minutes on 2 cores.

Nearly all of the tests' time is drill time in real clock time (a fault held, a broker's clients
routed back): the machine idles through most of it (a serial run used 27 CPU-minutes in 46). Each
lane is one pytest process with its own embedded environment on its own port layouts, its own
basetemp and its own log; the machine lock (tests/support/machine_lock.py) runs the tests that
take the CPU alone. What shares a resource stays in one lane: the real test bed (one control
plane on fixed ports) and the real ``blade`` host drills (one blade, whose ``recover --all`` finds
every experiment of ours) each run in one lane, and the starts of the heavy session fixtures (an
embedded environment, the test bed) hold the machine alone (tests/conftest.py).

The e2e modules are placed by hand from their measured durations; a module placed nowhere fails
tests/test_lanes.py, so a new one gets a lane on purpose. Every other test directory and file
joins the unit lane by itself.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.machine_lock import LOCK_ENV, held_alone

ROOT = Path(__file__).resolve().parents[2]
TIERS = ("tests/e2e", "tests/realk8s", "tests/blade_real")  # the tiers that drive real services
NOT_TESTS = ("tests/support", "tests/k8s_emulator", "tests/data")
UNIT = "unit"  # stands for every test path that is not in a tier
HEARTBEAT_S = 60.0
LEAD_TIMEOUT_S = 120.0  # the first lane's collection and its exclusive test's start take ~15 s


@dataclass(frozen=True)
class Lane:
    name: str
    offsets: tuple[int, ...]  # the embedded environments' port layouts no other lane takes
    paths: tuple[str, ...]  # test paths, in the order they run; UNIT expands to the unit tier
    nice: int = 0  # the lane's scheduling niceness (nice(1)): what judges no time runs at 10


# Placed from a serial run's durations (2026-12-02): blade_real 7.2 min, protections 6.7, the second
# application 6.1, all scenarios 4.9, drills 4.8, two brokers 3.3, orders' protections 2.6, realk8s
# 5.9, the unit tier 3. A drill keeps about one core busy, so two lanes carry the drills and a third
# the two-broker environment (first: it holds the machine alone, and at the start no drill is
# running yet, so no lane waits for one to end), the test bed and the short e2e modules. The first
# lane starts alone and the others once it holds the machine (`wait_for_lead`).
#
# The unit tier has a lane of its own at niceness 10. It judges nothing about time, and beside two
# drill lanes at the default niceness it took the CPU the drills needed: in run 4 (2026-12-02, the
# unit tier then in the first lane) five drills were refused or inconclusive on a host 96-100 %
# busy at load 9-13, as they should be. Niced, it takes what the drills leave.
LANES: tuple[Lane, ...] = (
    Lane(
        "k8s",
        (1000, 2000),
        (
            "tests/e2e/test_two_brokers_e2e.py",
            "tests/realk8s",
            "tests/e2e/test_env.py",
            "tests/e2e/test_local_engine.py",
            "tests/e2e/test_suite_e2e.py",
        ),
    ),
    Lane(
        "host-e2e",
        (3000, 4000),
        ("tests/blade_real", "tests/e2e/test_protections_e2e.py", "tests/e2e/test_orders_protections_e2e.py"),
    ),
    Lane(
        "e2e",
        (5000, 8000),
        ("tests/e2e/test_second_app.py", "tests/e2e/test_drills.py", "tests/e2e/test_all_scenarios.py"),
    ),
    Lane("unit", (9000,), (UNIT,), nice=10),
)


def unit_paths(root: Path = ROOT) -> list[str]:
    """Every test directory and top-level test file of tests/ outside the tiers, sorted."""
    skip = set(TIERS) | set(NOT_TESTS)
    out = []
    for entry in sorted((root / "tests").iterdir()):
        rel = entry.relative_to(root).as_posix()
        if rel in skip or entry.name.startswith(("_", ".")):
            continue
        if entry.is_dir() or (entry.name.startswith("test_") and entry.suffix == ".py"):
            out.append(rel)
    return out


def lane_paths(lane: Lane, root: Path = ROOT) -> list[str]:
    return [p for path in lane.paths for p in (unit_paths(root) if path == UNIT else [path])]


def pytest_argv(lane: Lane, work: Path, root: Path = ROOT) -> list[str]:
    return [
        *(["nice", "-n", str(lane.nice)] if lane.nice else []),
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=10",
        f"--basetemp={work / lane.name / 'tmp'}", *lane_paths(lane, root),
    ]  # fmt: skip


def lane_environ(lane: Lane, work: Path) -> dict[str, str]:
    from tests.support.embedded import OFFSETS_ENV

    return {
        **os.environ,
        OFFSETS_ENV: ",".join(str(o) for o in lane.offsets),
        LOCK_ENV: str(work / "lock"),
    }


MARKS = ".FEsxX"  # pytest -q's per-test marks: passed, failed, error, skipped, xfailed, xpassed
_PROGRESS = re.compile(rf"^[{re.escape(MARKS)}]+\s*\[\s*(\d+)%\]\s*$")


def progress(log: str) -> str:
    """'230 done (43 %), 2 failed' from a ``pytest -q`` log so far: its marks and last percentage."""
    percent, done, failed = 0, 0, 0
    for line in log.splitlines():
        bare = line.split("[")[0].strip()
        if bare and set(bare) <= set(MARKS):
            done += len(bare)
            failed += bare.count("F") + bare.count("E")
            match = _PROGRESS.match(line)
            if match:
                percent = int(match.group(1))
    return f"{done} done ({percent} %)" + (f", {failed} failed" if failed else "")


def summary(log: str) -> str:
    """pytest's last line ("1240 passed in …"), or the log's last line when it ended otherwise."""
    lines = [line for line in log.splitlines() if line.strip()]
    return lines[-1].strip("= ") if lines else "(no output)"


def _clock(seconds: float) -> str:
    return f"{int(seconds) // 60:d}:{int(seconds) % 60:02d}"


def stop(procs: Sequence[subprocess.Popen[bytes]], every_s: float = 15.0) -> None:
    """After Ctrl-C: the lanes got the same SIGINT (one process group), but a drill running in a
    lane takes a SIGINT as "abort this drill, recover" and its pytest goes on to the next test.
    So SIGINT again, every ``every_s``, until each lane has recovered, stopped and exited."""
    while any(proc.poll() is None for proc in procs):
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        deadline = time.monotonic() + every_s
        while time.monotonic() < deadline and any(proc.poll() is None for proc in procs):
            time.sleep(0.2)


def wait_for_lead(lead: subprocess.Popen[bytes], lock: Path, timeout_s: float = LEAD_TIMEOUT_S) -> str:
    """Wait until the first lane holds the machine alone (its first test is exclusive), it exits, or
    ``timeout_s`` passes; say which. Started together, whichever lane reached the lock first won it:
    a drill of another lane then ran, and the exclusive test waited for it to end (minutes lost on
    the lane that carried it, run 3 of 2026-12-02)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if held_alone(lock):
            return "holds the machine"
        if lead.poll() is not None:
            return f"exited ({lead.returncode})"
        time.sleep(0.2)
    return f"did not take the machine in {timeout_s:g} s"


def run(lanes: Sequence[Lane] = LANES, work: Path | None = None) -> int:
    """Run the lanes side by side; print a heartbeat, each lane's end, then every log. The exit
    code is the first failed lane's (pytest's codes), 0 when every lane passed."""
    work = work or Path(tempfile.gettempdir()) / "mqdrill-test-lanes"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    start = time.monotonic()
    procs, logs = {}, {}
    for i, lane in enumerate(lanes):
        (work / lane.name).mkdir()
        logs[lane.name] = work / f"{lane.name}.log"
        with logs[lane.name].open("w") as out:
            procs[lane.name] = subprocess.Popen(
                pytest_argv(lane, work), cwd=ROOT, env=lane_environ(lane, work), stdout=out, stderr=subprocess.STDOUT
            )
        print(f"lane {lane.name}: {' '.join(lane_paths(lane))}  (log: {logs[lane.name]})", flush=True)
        if i == 0 and len(lanes) > 1:
            waited = wait_for_lead(procs[lane.name], work / "lock")
            print(f"[{_clock(time.monotonic() - start)}] lane {lane.name} {waited}; the others start", flush=True)
    codes: dict[str, int] = {}
    next_beat = start + HEARTBEAT_S
    try:
        while len(codes) < len(procs):
            for name, proc in procs.items():
                if name not in codes and proc.poll() is not None:
                    codes[name] = proc.returncode
                    state = "passed" if proc.returncode == 0 else f"FAILED (exit {proc.returncode})"
                    text = logs[name].read_text(errors="replace")
                    print(f"[{_clock(time.monotonic() - start)}] lane {name} {state}: {summary(text)}", flush=True)
            if time.monotonic() >= next_beat:
                beat = "; ".join(
                    f"{name} {progress(logs[name].read_text(errors='replace'))}" for name in procs if name not in codes
                )
                print(f"[{_clock(time.monotonic() - start)}] running: {beat}", flush=True)
                next_beat += HEARTBEAT_S
            time.sleep(1.0)
    except KeyboardInterrupt:
        stop(list(procs.values()))
        raise
    for name in procs:
        print(f"\n===== lane {name} (exit {codes[name]}) =====", flush=True)
        print(logs[name].read_text(errors="replace"), flush=True)
    failed = [name for name in procs if codes[name] != 0]
    verdict = f"FAILED: {', '.join(failed)}" if failed else "all passed"
    print(f"lanes done in {_clock(time.monotonic() - start)}: {verdict}", flush=True)
    return next((codes[name] for name in failed), 0)


if __name__ == "__main__":
    sys.exit(run())
