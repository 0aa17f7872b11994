"""The blade engine through the real process boundary, against a stand-in ``blade`` executable
that checks argv against the vendored ChaosBlade spec and answers in blade's envelope."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from bridge.engines.base import Fault, Plan, Target
from bridge.engines.blade import BladeEngine, parse_envelope
from bridge.errors import InjectionError, ProcessError, RecoveryError
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
HOST_DROP = ("blade", "create", "network", "drop", "--destination-port", "10911", "--timeout", "60")
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


def test_host_faults_inject_confirm_recover(blade: Path) -> None:
    eng = engine(blade)
    handle = eng.inject(plan(HOST_KILL, HOST_DROP))
    uids = handle.data["uids"]
    assert len(uids) == 2 and len(set(uids)) == 2
    calls = state(blade)["calls"]
    assert calls[0][:3] == ["create", "process", "kill"] and calls[0][-2] == "--uid"
    assert ["status", "--uid", uids[0]] in calls
    assert eng.status(handle).status == "injected"
    eng.recover(handle)
    assert eng.status(handle).status == "recovered"
    assert ["destroy", uids[1]] in state(blade)["calls"]


def test_k8s_commands_get_the_kubeconfig(blade: Path, tmp_path: Path) -> None:
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


def test_the_stand_in_rejects_what_real_blade_rejects(blade: Path, tmp_path: Path) -> None:
    eng = engine(blade, kubeconfig=str(tmp_path / "k"))
    no_namespace = tuple(a for a in K8S_KILL if a not in ("--namespace", "mqdrill-demo"))
    with pytest.raises(InjectionError, match="less necessary flag: --namespace"):
        eng.inject(plan(no_namespace))
    with pytest.raises(InjectionError, match="unknown flag: --bogus"):
        eng.inject(plan((*HOST_KILL, "--bogus", "1")))
    with pytest.raises(InjectionError, match="may only run `blade create`"):
        eng.inject(plan(("blade", "destroy", "abc")))


def test_create_failure_is_reported_in_blades_words(blade: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_BLADE_MODE", "create-fails")
    with pytest.raises(InjectionError, match="blade code 602.*cannot find process BrokerStartup"):
        engine(blade).inject(plan(HOST_KILL))


def test_second_create_failing_destroys_the_first(blade: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    eng = engine(blade)
    bad_drop = (*HOST_DROP[:-2], "--no-such-flag", "x")
    with pytest.raises(InjectionError, match="unknown flag.*destroyed"):
        eng.inject(plan(HOST_KILL, bad_drop))
    statuses = [e["Status"] for e in state(blade)["experiments"].values()]
    assert statuses == ["Destroyed"]


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


def test_garbage_output_is_a_clear_error(blade: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_BLADE_MODE", "garbage")
    with pytest.raises(InjectionError, match="exit 2.*panic: runtime error"):
        engine(blade).inject(plan(HOST_KILL))


def test_executable_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQDRILL_BLADE", "/opt/chaosblade/blade")
    assert BladeEngine().command(HOST_KILL)[:2] == ["/opt/chaosblade/blade", "create"]
    monkeypatch.delenv("MQDRILL_BLADE")
    assert BladeEngine().command(HOST_KILL)[0] == "blade"


def test_envelope_parsing() -> None:
    env = parse_envelope('time="..." level=info msg=x\n{"code":200,"success":true,"result":"e5f6"}\n', ["b"])
    assert (env.code, env.success, env.result) == (200, True, "e5f6")
    with pytest.raises(ProcessError, match="did not answer with a blade JSON envelope"):
        parse_envelope("Error: unknown flag\n", ["blade", "create"])
