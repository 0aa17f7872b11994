"""The blade engine through the real process boundary, against a stand-in ``blade`` executable
that checks argv against the vendored ChaosBlade spec and answers in blade's envelope.

What the real ``blade`` 1.8.0 can produce on demand is tested on it (tests/blade_real: host
inject/confirm/destroy, failures in blade's words on stderr, bad flags, help text with exit 0, a
second create failing after a first, the hard end, the sweep). The stand-in stays for what it
cannot: ``blade create k8s`` without a cluster (kubeconfig, required flags), a create that hangs,
a record that turns ``Error`` after a successful create or stays ``Created``, a destroy that
keeps failing, and output that is not blade's at all.
"""

from __future__ import annotations

import json
import stat
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.engines.base import Fault, Plan, Target
from bridge.engines.blade import BladeEngine, is_ours, mqdrill_uid, parse_envelope, run_tag
from bridge.engines.blade_cli import judge
from bridge.errors import InjectionError, ProcessError, RecoveryError
from bridge.process import Completed
from bridge.runner.ledger import Ledger
from tests.k8s.fakes import FakeClock

FAKE = Path(__file__).with_name("fake_blade.py")

HOST_KILL = (
    "blade",
    "create",
    "process",
    "kill",
    "--process",
    "BrokerStartup",
    "--signal",
    "9",
    "--timeout",
    "60",
)
K8S_KILL = (
    "blade",
    "create",
    "k8s",
    "pod-process",
    "kill",
    "--process",
    "BrokerStartup",
    "--namespace",
    "mqdrill-demo",
    "--labels",
    "app.kubernetes.io/name=rocketmq-broker",
    "--evict-count",
    "1",
    "--timeout",
    "60",
)


@pytest.fixture
def blade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An executable named blade that runs the stand-in with this interpreter."""
    exe = tmp_path / "blade"
    exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("FAKE_BLADE_STATE", str(tmp_path / "state.json"))
    monkeypatch.delenv("FAKE_BLADE_MODE", raising=False)
    return exe


def state(blade: Path) -> dict[str, Any]:
    return dict(json.loads((blade.parent / "state.json").read_text()))


def plan(*argv: tuple[str, ...]) -> Plan:
    fault = Fault(
        run_id="rb",
        scenario="broker-unavailable",
        cause="process-kill",
        component="broker",
        engine="blade",
        target=Target(services=("broker",)),
        duration_s=60,
    )
    return Plan(engine="blade", fault=fault, argv=argv)


def engine(blade: Path, **kw: Any) -> BladeEngine:
    return BladeEngine(blade=str(blade), clock=FakeClock(), timeout_s=10, confirm_timeout_s=5, poll_s=1, **kw)


def test_k8s_commands_get_the_kubeconfig(blade: Path, tmp_path: Path) -> None:
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\n")
    eng = engine(blade, kubeconfig=str(tmp_path / "kubeconfig"))
    handle = eng.inject(plan(K8S_KILL))
    create = state(blade)["calls"][0]
    assert create[create.index("--kubeconfig") + 1] == str(tmp_path / "kubeconfig")
    eng.recover(handle)


def test_planned_kubeconfig_is_expanded_or_overridden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/sre")
    planned = (*K8S_KILL, "--kubeconfig", "~/.kube/config")
    argv = BladeEngine(blade="blade").command(planned)
    assert argv[argv.index("--kubeconfig") + 1] == "/home/sre/.kube/config"  # no shell expands "~" for us
    argv = BladeEngine(blade="blade", kubeconfig="/etc/mqdrill/kubeconfig").command(planned)
    assert argv[argv.index("--kubeconfig") + 1] == "/etc/mqdrill/kubeconfig"
    assert argv.count("--kubeconfig") == 1


def test_without_a_kubeconfig_option_blade_gets_the_one_KUBECONFIG_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # blade 1.8.0 reads no $KUBECONFIG: left to itself it would use no file at all
    monkeypatch.setenv("KUBECONFIG", f"{tmp_path}/a:{tmp_path}/b")
    argv = BladeEngine(blade="blade").command(K8S_KILL)
    assert argv[argv.index("--kubeconfig") + 1] == f"{tmp_path}/a"
    monkeypatch.delenv("KUBECONFIG")
    monkeypatch.setenv("HOME", "/home/sre")
    argv = BladeEngine(blade="blade").command(K8S_KILL)
    assert argv[argv.index("--kubeconfig") + 1] == "/home/sre/.kube/config"


def test_a_missing_kubeconfig_is_named_before_blade_runs(
    blade: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real blade drops a --kubeconfig that names no file and says only "unable to load
    # in-cluster configuration": mqdrill names the file instead, and runs nothing.
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(InjectionError, match=f"the kubeconfig {tmp_path}/absent does not exist"):
        engine(blade, kubeconfig=str(tmp_path / "absent")).inject(plan(K8S_KILL))
    assert not (blade.parent / "state.json").exists() or state(blade)["calls"] == []
    # in a pod, blade's fallback to the pod's service account is what is meant
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    eng = engine(blade, kubeconfig=str(tmp_path / "absent"))
    eng.recover(eng.inject(plan(K8S_KILL)))


def test_a_context_is_refused_for_k8s_creates_blade_has_no_such_flag(blade: Path, tmp_path: Path) -> None:
    (tmp_path / "k").write_text("apiVersion: v1\n")
    with pytest.raises(InjectionError, match="blade has no --context.*'staging'"):
        engine(blade, kubeconfig=str(tmp_path / "k"), context="staging").inject(plan(K8S_KILL))
    # a host create has nothing to do with a cluster: the context does not matter there
    eng = engine(blade, context="staging")
    eng.recover(eng.inject(plan(("blade", "create", "cpu", "fullload", "--timeout", "60"))))


def test_the_stand_in_rejects_what_real_blade_rejects(blade: Path, tmp_path: Path) -> None:
    (tmp_path / "k").write_text("apiVersion: v1\n")
    eng = engine(blade, kubeconfig=str(tmp_path / "k"))
    no_namespace = tuple(a for a in K8S_KILL if a not in ("--namespace", "mqdrill-demo"))
    with pytest.raises(InjectionError, match="less necessary flag: --namespace"):
        eng.inject(plan(no_namespace))
    with pytest.raises(InjectionError, match="may only run `blade create`"):
        eng.inject(plan(("blade", "destroy", "abc")))


def test_experiment_error_in_status_fails_and_destroys(blade: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_BLADE_MODE", "status-error")
    with pytest.raises(InjectionError, match="blade experiment failed: .*Error.*destroyed"):
        engine(blade).inject(plan(HOST_KILL))


def test_never_confirmed_times_out_and_destroys(blade: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_BLADE_MODE", "status-created")
    eng = engine(blade)
    with pytest.raises(InjectionError, match="not confirmed within 5s: .*Created.*destroyed"):
        eng.inject(plan(HOST_KILL))
    assert sum(eng.clock.sleeps) >= 5  # type: ignore[attr-defined]


def test_create_timeout_still_destroys_the_chosen_uid(blade: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_BLADE_MODE", "create-hangs")
    eng = BladeEngine(blade=str(blade), clock=FakeClock(), timeout_s=1.5)
    with pytest.raises(InjectionError, match="timed out after 1.5s"):
        eng.inject(plan(HOST_KILL))
    uid = state(blade)["calls"][0][-1]
    assert ["destroy", uid] in state(blade)["calls"]


def test_destroy_failure_lists_leftovers(blade: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    eng = engine(blade)
    handle = eng.inject(plan(HOST_KILL))
    monkeypatch.setenv("FAKE_BLADE_MODE", "destroy-fails")
    with pytest.raises(RecoveryError, match="tc: command not found") as err:
        eng.recover(handle)
    assert err.value.leftovers == [f"blade:{handle.data['uids'][0]}"]
    destroys = [c for c in state(blade)["calls"] if c[0] == "destroy"]
    assert len(destroys) == 3  # retried before giving up
    monkeypatch.delenv("FAKE_BLADE_MODE")
    eng.recover(handle)
    eng.recover(handle)  # a second recovery of the same handle is harmless


def test_the_uids_are_in_the_ledger_before_blade_runs_so_a_failed_rollback_is_still_found(
    blade: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    eng = engine(blade)
    p = plan(HOST_KILL)
    ledger = Ledger(tmp_path / "ledger")
    ahead = ledger.add_planned(eng, p, run_dir="run", deadline=0)
    assert ahead is not None and not (blade.parent / "state.json").exists()  # recorded before blade ran
    monkeypatch.setenv("FAKE_BLADE_MODE", "status-error,destroy-fails")
    with pytest.raises(InjectionError, match="failed too"):
        eng.inject(p)
    (create,) = [c for c in state(blade)["calls"] if c[0] == "create"]
    assert [create[create.index("--uid") + 1]] == ahead.handle.data["uids"]
    assert [e.handle.data["uids"] for e in ledger.entries()] == [ahead.handle.data["uids"]]
    monkeypatch.delenv("FAKE_BLADE_MODE")
    eng.recover(ahead.handle)  # what `mqdrill recover RUN` does with that entry
    assert eng.status(ahead.handle).status == "recovered"


def test_a_uid_blade_never_recorded_counts_as_recovered(blade: Path) -> None:
    # e.g. a planned UID whose create failed before blade wrote a record (real blade: code 67002)
    eng = engine(blade)
    handle = eng.planned_handle(plan(HOST_KILL))
    eng.recover(handle)
    assert eng.status(handle).status == "recovered"
    # a plan inject never saw in planned_handle still gets UIDs of its own
    other = eng.inject(plan(HOST_KILL))
    assert other.data["uids"] != handle.data["uids"] and is_ours(other.data["uids"][0], "rb")
    eng.recover(other)


def test_garbage_output_is_a_clear_error(blade: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_BLADE_MODE", "garbage")
    with pytest.raises(InjectionError, match="exit 2.*panic: runtime error"):
        engine(blade).inject(plan(HOST_KILL))


def test_executable_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQDRILL_BLADE", "/opt/chaosblade/blade")
    assert BladeEngine().command(HOST_KILL)[:2] == ["/opt/chaosblade/blade", "create"]
    monkeypatch.delenv("MQDRILL_BLADE")
    assert BladeEngine().command(HOST_KILL)[0] == "blade"


def _done(rc: int, stdout: str = "", stderr: str = "") -> Completed:
    return Completed(("blade", "create", "process", "kill"), rc, stdout, stderr)


def test_answers_read_as_blade_1_8_0_gives_them() -> None:
    # recorded from the real blade 1.8.0 (tests/blade_real runs the same cases live)
    ok = judge(_done(0, '{"code":200,"success":true,"result":"mqdrill1a2b3c4d5"}\n'))
    assert ok[0] is not None and ok[0].result == "mqdrill1a2b3c4d5" and ok[1] == ""
    err = '{"code":47001,"success":false,"error":"invalid parameter `process`, `x` process not found"}\n'
    env, failure = judge(_done(1, "", err))
    assert env is not None and env.code == 47001 and "code 47001" in failure and "`x` process not found" in failure
    assert "unknown flag: --bogus-flag" in judge(_done(1, "", "unknown flag: --bogus-flag\n"))[1]
    env, failure = judge(_done(0, "Create a chaos engineering experiment\n\nUsage:\n  blade create [command]\n"))
    assert env is None and "printed blade's help instead of running" in failure


def test_envelope_parsing() -> None:
    env = parse_envelope('time="..." level=info msg=x\n{"code":200,"success":true,"result":"e5f6"}\n', ["b"])
    assert (env.code, env.success, env.result) == (200, True, "e5f6")
    with pytest.raises(ProcessError, match="did not answer with a blade JSON envelope"):
        parse_envelope("Error: unknown flag\n", ["blade", "create"])


@given(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80))
def test_our_uids_say_mqdrill_and_the_run_and_are_never_blades_own(run: str, other: str) -> None:
    uid = mqdrill_uid(run)
    assert len(uid) == 16 and is_ours(uid) and is_ours(uid, run)
    assert not all(c in "0123456789abcdef" for c in uid)  # blade's own UIDs are hexadecimal
    assert is_ours(uid, other) == (run_tag(other) == run_tag(run))
    assert not is_ours(uuid.uuid4().hex[:16])
