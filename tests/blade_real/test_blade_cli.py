"""The blade engine against the real ``blade`` 1.8.0: how it answers, what it accepts, and the
hard end (its ``--timeout`` shell) surviving mqdrill's death. Targets are ``sleep`` processes.

The stand-in (tests/k8s/fake_blade.py) stays for what the real one cannot produce on demand:
a create that hangs, a status stuck in ``Created``, a destroy that keeps failing, garbage output,
and ``blade create k8s`` without a cluster.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.engines.base import Fault, Plan, Target
from bridge.engines.blade import BladeEngine, is_ours
from bridge.env import procs
from bridge.errors import InjectionError
from tests.blade_real.conftest import REPO, blade_dir

pytestmark = pytest.mark.realblade


def _state(proc: subprocess.Popen[bytes]) -> str | None:
    return procs.state_of(proc.pid)


def _pattern(proc: subprocess.Popen[bytes]) -> str:
    return " ".join(proc.args)  # type: ignore[arg-type]


def _plan(*argv: str, duration_s: int = 60) -> Plan:
    fault = Fault(
        run_id="rb-real",
        scenario="broker-unavailable",
        cause="process-pause",
        component="broker",
        engine="blade",
        target=Target(services=("broker",)),
        duration_s=duration_s,
    )
    return Plan(engine="blade", fault=fault, argv=(("blade", *argv),))


def _blade(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([os.environ["MQDRILL_BLADE"], *args], capture_output=True, text=True, timeout=60, check=False)


def _records() -> list[dict[str, Any]]:
    return list(json.loads(_blade("status", "--type", "create").stdout)["result"] or [])


def _wait_state(proc: subprocess.Popen[bytes], want: str, timeout: float) -> float:
    """Seconds until ``proc`` is in state ``want``; fails after ``timeout``."""
    start = time.monotonic()
    assert procs.wait_until(lambda: _state(proc) == want, timeout, step=0.1), f"state {_state(proc)}, wanted {want}"
    return time.monotonic() - start


def test_an_unknown_target_is_a_failure_though_blade_exits_0(blade_env: dict[str, str]) -> None:
    done = _blade("create", "nosuchtarget", "act")
    assert done.returncode == 0 and "Usage:" in done.stdout  # the real behaviour
    with pytest.raises(InjectionError, match="printed blade's help instead of running"):
        BladeEngine().inject(_plan("create", "nosuchtarget"))
    # with flags after it, blade complains about the first one instead: named for what it means
    with pytest.raises(InjectionError, match="unknown flag: --time .*no `create rocketmq delay` at all"):
        BladeEngine().inject(_plan("create", "rocketmq", "delay", "--time", "100", "--timeout", "30"))


def test_a_bad_flag_is_plain_text_named_in_the_error(blade_env: dict[str, str]) -> None:
    with pytest.raises(InjectionError, match="unknown flag: --bogus-flag"):
        BladeEngine().inject(_plan("create", "cpu", "fullload", "--bogus-flag", "1", "--timeout", "30"))


def test_network_drop_has_no_local_port_and_process_kill_needs_a_signal(
    blade_env: dict[str, str], sleeper: subprocess.Popen[bytes]
) -> None:
    drop = _blade("create", "network", "drop", "--local-port", "1", "--timeout", "5")
    assert drop.returncode == 1 and "unknown flag: --local-port" in drop.stderr
    kill = _blade("create", "process", "kill", "--process", _pattern(sleeper), "--timeout", "5")
    assert kill.returncode == 1 and kill.stdout == ""
    assert json.loads(kill.stderr)["code"] == 45000 and "signal" in kill.stderr


def test_a_failure_blade_finds_comes_from_stderr_in_its_words_and_its_record_stays(
    blade_env: dict[str, str],
) -> None:
    plan = _plan("create", "process", "stop", "--process", "no-such-process-here", "--timeout", "30")
    with pytest.raises(InjectionError, match="code 47001.*no-such-process-here` process not found"):
        BladeEngine().inject(plan)
    mine = [r for r in _records() if is_ours(r["Uid"], "rb-real")]
    assert [r["Status"] for r in mine] == ["Error"]


# Kubernetes-only causes, and the JVM executor's (target rocketmq), which chaos_os does not include
SKIPPED = ("pod-kill", "container-kill", "client-delay", "client-exception")


def _spec_actions() -> dict[tuple[str, str], set[str]]:
    raw = yaml.safe_load((blade_dir() / "yaml" / "chaosblade-os-spec-1.8.0.yaml").read_text())
    out: dict[tuple[str, str], set[str]] = {}
    for item in raw["items"]:
        for action in item["actions"]:
            names = {f["name"] for f in (action.get("matchers") or []) + (action.get("flags") or [])}
            for a in [action["action"], *(action.get("aliases") or [])]:
                out[(item["target"], a)] = names | {"timeout", "uid"}
    return out


def test_every_host_plan_of_the_catalog_speaks_the_real_os_spec(real_blade: Path) -> None:
    from bridge.engines.blade_host import from_catalog
    from bridge.engines.blade_plan import plan
    from bridge.spec.catalog import load_catalog
    from bridge.spec.resolve import resolve
    from tests.support.drills import drill

    catalog = load_catalog()
    spec = _spec_actions()
    checked = 0
    for entry in catalog.entries():
        scenario, cause = str(entry["scenario"]), str(entry["cause"])
        if "blade" not in entry["engines"] or cause in SKIPPED:
            continue
        d = drill(scenario=scenario, causes=[cause], engine="blade", targets={"services": ["broker"]})
        for fault in resolve(d, catalog, run_id="spec").faults:
            for argv in plan(fault, catalog, layout=from_catalog(catalog)).argv:
                target, action = argv[2], argv[3]
                flags = {w[2:] for w in argv[4:] if w.startswith("--")}
                assert (target, action) in spec, f"{scenario}/{cause}: blade has no `{target} {action}`"
                assert flags <= spec[(target, action)], f"{scenario}/{cause}: unknown {flags - spec[(target, action)]}"
                checked += 1
    assert checked >= 10


def test_stop_is_confirmed_and_destroy_thaws(blade_env: dict[str, str], sleeper: subprocess.Popen[bytes]) -> None:
    engine = BladeEngine()
    handle = engine.inject(_plan("create", "process", "stop", "--process", _pattern(sleeper), "--timeout", "60"))
    assert _state(sleeper) == "T"
    assert engine.status(handle).status == "injected"
    assert all(is_ours(uid, "rb-real") for uid in handle.data["uids"])
    engine.recover(handle)
    _wait_state(sleeper, "S", 5)
    assert engine.status(handle).status == "recovered"
    engine.recover(handle)  # twice is harmless


CHILD = """
import sys, time
from bridge.engines.base import Fault, Plan, Target
from bridge.engines.blade import BladeEngine
{spawn}
fault = Fault(run_id="rb-child", scenario="broker-unavailable", cause="process-pause", component="broker",
              engine="blade", target=Target(services=("broker",)), duration_s=60)
plan = Plan(engine="blade", fault=fault, argv=(tuple(sys.argv[1:]),))
BladeEngine().inject(plan)
print("injected", flush=True)
time.sleep(600)
"""
# The engine as it was: blade in the caller's session, so its --timeout shell shares its group.
SAME_SESSION = """
import bridge.engines.blade_cli as cli
from bridge import process
_run = process.run
cli.process.run = lambda *a, **k: _run(*a, **{**k, "new_session": False})
"""


def _killed_mid_fault(sleeper: subprocess.Popen[bytes], timeout_s: int, spawn: str = "") -> float:
    """A child injects a stop with ``--timeout``, then its whole process group gets SIGKILL; when."""
    argv = ["create", "process", "stop", "--process", _pattern(sleeper), "--timeout", str(timeout_s)]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(spawn=spawn), *argv],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        start_new_session=True,  # its own group: killpg below is what a CI timeout does to mqdrill
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "injected"
    created = time.monotonic()
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    assert _state(sleeper) == "T", "the fault outlives mqdrill"
    return created


def test_the_hard_end_survives_mqdrill_and_its_process_group_being_killed(
    blade_env: dict[str, str], sleeper: subprocess.Popen[bytes]
) -> None:
    created = _killed_mid_fault(sleeper, 6)
    _wait_state(sleeper, "S", 15)
    ended = time.monotonic() - created
    assert 4.0 <= ended <= 12.0, f"blade's --timeout 6 ended the fault after {ended:.1f}s"
    rb = [r for r in _records() if is_ours(r["Uid"], "rb-child")]
    assert [r["Status"] for r in rb] == ["Destroyed"]


def test_why_blade_gets_a_session_of_its_own(blade_env: dict[str, str], sleeper: subprocess.Popen[bytes]) -> None:
    # The same kill with blade in mqdrill's session: the group kill takes the --timeout shell too.
    _killed_mid_fault(sleeper, 3, spawn=SAME_SESSION)
    time.sleep(6)
    assert _state(sleeper) == "T", "blade 1.8.0's hard end died with the creating process group"
    uid = next(r["Uid"] for r in _records() if is_ours(r["Uid"], "rb-child") and r["Status"] == "Success")
    assert _blade("destroy", uid).returncode == 0
    _wait_state(sleeper, "S", 5)


def test_recover_all_destroys_our_leftovers_from_blades_records_and_nothing_else(
    blade_env: dict[str, str], sleeper: subprocess.Popen[bytes]
) -> None:
    other = subprocess.Popen(["sleep", f"8{sleeper.pid}"], start_new_session=True)
    try:
        # ours, never written to a ledger (as if mqdrill died right after `blade create`)
        BladeEngine().inject(_plan("create", "process", "stop", "--process", _pattern(sleeper), "--timeout", "300"))
        foreign = _blade("create", "process", "stop", "--process", _pattern(other), "--timeout", "300")
        foreign_uid = json.loads(foreign.stdout)["result"]
        assert _state(sleeper) == "T" and _state(other) == "T"
        done = subprocess.run(
            [sys.executable, "-m", "bridge", "recover", "--all", "--json"],
            capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
        )  # fmt: skip
        report = json.loads(done.stdout)
        assert done.returncode == 0, done.stderr
        assert len(report["found"]) == 1 and report["found"][0].startswith("blade mqdrill"), report
        assert report["recovered"] == report["found"]
        _wait_state(sleeper, "S", 5)
        assert _state(other) == "T", "an experiment mqdrill did not create is left alone"
        assert _blade("destroy", foreign_uid).returncode == 0
        _wait_state(other, "S", 5)
    finally:
        other.kill()
        other.wait(timeout=10)


def test_a_second_create_failing_destroys_the_first(
    blade_env: dict[str, str], sleeper: subprocess.Popen[bytes]
) -> None:
    fault = _plan("create", "process", "stop", "--process", _pattern(sleeper), "--timeout", "60").fault
    good = ("blade", "create", "process", "stop", "--process", _pattern(sleeper), "--timeout", "60")
    bad = ("blade", "create", "network", "drop", "--destination-port", "1", "--no-such-flag", "x", "--timeout", "60")
    with pytest.raises(InjectionError, match="unknown flag: --no-such-flag.*destroyed"):
        BladeEngine().inject(Plan(engine="blade", fault=fault, argv=(good, bad)))
    _wait_state(sleeper, "S", 5)
    assert [r["Status"] for r in _records() if is_ours(r["Uid"], "rb-real")] == ["Destroyed"]
