"""Host mode with the real ``blade`` on the embedded environment playing the host: the ready drills
of scenarios/drills/host, end to end with verdicts, and the hard end surviving mqdrill's SIGKILL.

Each drill runs as shipped except for its windows (short) and the probe's address (the session's
environment runs at a port offset). Run under the machine-wide lock (docs/operations.md).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.env import procs, services, status
from bridge.runner.lifecycle import run_drill
from bridge.runner.wiring import build_deps
from bridge.spec.loader import load_drill
from tests.blade_real.conftest import REPO
from tests.e2e.e2e_support import EmbeddedEnv, settled

pytestmark = [pytest.mark.realblade, pytest.mark.e2e]
HOST_DRILLS = REPO / "scenarios" / "drills" / "host"
WINDOWS = {"baseline": 8, "fault": 15, "recovery": 20}


@pytest.fixture
def host_env(
    embedded_env: EmbeddedEnv, blade_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """The session's environment is the host blade acts on; the shop is settled before each drill."""
    settled(embedded_env)
    env = {
        **blade_env,
        "MQDRILL_STATE": str(embedded_env.state_dir),
        "MQDRILL_BLADE_HOST": "embedded",
        "MQDRILL_REPORTS": str(tmp_path / "reports"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    yield env
    for name in ("namesrv", "broker", "proxy"):  # leave the session's environment whole
        procs.wait_until(lambda n=name: services.running(embedded_env.config, n) is not None, 60, step=0.5)


def _drill(name: str, env: EmbeddedEnv, folder: Path, **windows: int) -> Any:
    """A ready host drill as shipped, with short windows and the session environment's address."""
    raw = yaml.safe_load((HOST_DRILLS / f"{name}.yaml").read_text())
    raw["windows"] = {**WINDOWS, **windows}
    raw["steady_state"] = {"probe": {"frontend_url": env.frontend_url, "rate": 20}}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _events(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def _verdict(run_dir: Path) -> dict[str, Any]:
    return dict(json.loads((run_dir / "verdict.json").read_text())["verdicts"][0])


def _run(name: str, env: EmbeddedEnv, out: Path, **windows: int) -> tuple[Path, dict[str, Any]]:
    d = load_drill(_drill(name, env, out.parent / "drills", **windows))
    result = run_drill(d, build_deps(d, report=False), out=out)
    assert result.status == "completed", result.reason
    ev = _events(result.run_dir)
    assert [e["state"] for e in ev if e["event"] == "inject"] == ["requested", "confirmed"] * len(d.causes or [1])
    assert [e["state"] for e in ev if e["event"] == "recover"][-1] == "confirmed"
    assert not list(Path(os.environ["MQDRILL_LEDGER"]).glob("*.json")), "the ledger is empty after the drill"
    return result.run_dir, _verdict(result.run_dir)


@pytest.mark.parametrize(
    ("name", "service"),
    [("broker-unavailable-blade-kill", "broker"), ("namesrv-unavailable-blade-kill", "namesrv")],
)
def test_a_kill_by_class_name_hits_the_process_and_the_hosts_supervisor_brings_it_back(
    embedded_env: EmbeddedEnv, host_env: dict[str, str], tmp_path: Path, name: str, service: str
) -> None:
    assert _kill_drill(embedded_env, tmp_path, name, service) in ("strong", "weak")


def _kill_drill(embedded_env: EmbeddedEnv, tmp_path: Path, name: str, service: str) -> str:
    """Run a kill drill, check blade killed the process and the supervisor restarted it; the strength."""
    before = services.running(embedded_env.config, service)
    assert before is not None
    run_dir, verdict = _run(name, embedded_env, tmp_path / "run")
    assert not procs.is_running(before), f"blade killed {service} (pid {before.pid})"
    after = services.running(embedded_env.config, service)
    assert after is not None and after.pid != before.pid, f"the supervisor restarted {service}"
    log = (embedded_env.config.log_dir / f"supervisor-{service}.log").read_text()
    assert "up again" in log, log
    assert verdict["strength"] in ("strong", "weak"), verdict["reasons"]
    if service in ("broker", "proxy"):
        assert verdict["strength"] == "strong", verdict["reasons"]  # items stop reaching the cart
    return str(verdict["strength"])


def test_a_stop_freezes_the_broker_and_destroy_thaws_it(
    embedded_env: EmbeddedEnv, host_env: dict[str, str], tmp_path: Path
) -> None:
    before = services.running(embedded_env.config, "broker")
    _, verdict = _run("broker-unavailable-blade-stop", embedded_env, tmp_path / "run")
    assert verdict["strength"] == "strong", verdict["reasons"]
    assert services.running(embedded_env.config, "broker") == before, "the same broker, thawed"
    assert procs.state_of(before.pid) != "T" if before else False


def test_a_network_drop_on_the_brokers_port_partitions_it_and_destroy_removes_the_rules(
    embedded_env: EmbeddedEnv, host_env: dict[str, str], tmp_path: Path
) -> None:
    _, verdict = _run("network-partition-blade", embedded_env, tmp_path / "run")
    assert verdict["strength"] == "strong", verdict["reasons"]
    rules = subprocess.run(["iptables", "-S"], capture_output=True, text=True, check=True).stdout
    assert f"--dport {embedded_env.config.port('broker')} -j DROP" not in rules
    assert f"--sport {embedded_env.config.port('broker')} -j DROP" not in rules


def test_disk_fill_runs_to_a_verdict_and_leaves_nothing(
    embedded_env: EmbeddedEnv, host_env: dict[str, str], tmp_path: Path
) -> None:
    from bridge.env.faults import usage

    _, disk = _run("broker-disk-full-blade", embedded_env, tmp_path / "disk")
    assert disk["strength"] in ("strong", "weak"), disk["reasons"]
    assert usage(embedded_env.config.store_dir) < 0.9, "blade's fill file is gone"


@pytest.mark.machine_exclusive  # cpu fullload takes the cores: no other lane's drill beside it
def test_cpu_fullload_runs_to_a_verdict_and_leaves_nothing(
    embedded_env: EmbeddedEnv, host_env: dict[str, str], tmp_path: Path
) -> None:
    # short windows: the test holds the machine alone (recovery is the burners' exit, at once)
    _, cpu = _run("broker-cpu-full-blade", embedded_env, tmp_path / "cpu", fault=10, recovery=10)
    assert cpu["strength"] in ("strong", "weak"), cpu["reasons"]

    def no_burner() -> bool:
        hogs = subprocess.run(["pgrep", "-f", "chaos_os create cpu"], capture_output=True, text=True, check=False)
        return hogs.stdout.strip() == ""

    assert procs.wait_until(no_burner, 10, step=0.5), "blade's cpu burners are gone"


def test_sigkill_mid_fault_blades_hard_end_still_ends_it_on_time_and_recover_cleans_up(
    embedded_env: EmbeddedEnv, host_env: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    cfg = embedded_env.config
    # the CLI refuses a baseline too short for its analysis (12 s at 20 req/s)
    drill_file = _drill("broker-unavailable-blade-stop", embedded_env, tmp_path, baseline=12, fault=5, recovery=4)
    out = tmp_path / "run"
    err = (tmp_path / "run.err").open("w")  # noqa: SIM115 - the child writes it; closed when the test ends
    request.addfinalizer(err.close)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bridge", "run", str(drill_file), "--out", str(out), "--json", "--no-report"],
        stdout=subprocess.DEVNULL, stderr=err, cwd=REPO, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not (
        (out / "events.jsonl").exists() and '"phase":"fault"' in (out / "events.jsonl").read_text()
    ):
        time.sleep(0.2)
    broker = services.running(cfg, "broker")
    said = (tmp_path / "run.err").read_text()[-500:]
    assert broker is not None and procs.state_of(broker.pid) == "T", f"the broker is frozen by blade; mqdrill: {said}"
    os.killpg(proc.pid, signal.SIGKILL)  # mqdrill and its whole process group, as a CI timeout would
    proc.wait(timeout=10)
    hard_end = max(e["deadline"] for e in _events(out) if e.get("state") == "confirmed" and "deadline" in e)
    assert procs.state_of(broker.pid) == "T", "the fault outlives mqdrill"
    assert procs.wait_until(lambda: procs.state_of(broker.pid) != "T", hard_end - time.time() + 10, step=0.5)
    assert time.time() >= hard_end - 3, "thawed by blade's --timeout, not earlier"
    assert status(cfg)["services"]["broker"]["running"]
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "recover", "--all", "--json"],
        capture_output=True, text=True, timeout=120, cwd=REPO, check=False,
    )  # fmt: skip
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr
    assert len(report["found"]) == 1 and report["recovered"] == report["found"], report  # the ledger's entry
    assert _events(out)[-1]["event"] == "recover" and _events(out)[-1]["state"] == "confirmed"


def test_a_proxy_kill_runs_to_a_verdict_and_the_supervisor_restarts_the_proxy(
    embedded_env: EmbeddedEnv, tmp_path: Path, real_blade: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Last in this module on purpose: after the proxy restarts, the demo cartservice's SimpleConsumer
    # (rocketmq-clients for Python) has been seen to receive nothing, without an error, for more than
    # a minute, so the shop does not settle for a next drill. That is the shop's client, not blade or
    # the supervisor (the proxy is up again and the frontend's sends succeed); reported, not hidden:
    # this test does not wait for the shop to settle afterwards.
    settled(embedded_env)
    env = {
        "MQDRILL_BLADE": str(real_blade),
        "CHAOSBLADE_DATAFILE_PATH": str(tmp_path / "chaosblade.dat"),
        "MQDRILL_LEDGER": str(tmp_path / "ledger"),
        "MQDRILL_STATE": str(embedded_env.state_dir),
        "MQDRILL_BLADE_HOST": "embedded",
        "MQDRILL_REPORTS": str(tmp_path / "reports"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert _kill_drill(embedded_env, tmp_path, "proxy-unavailable-blade-kill", "proxy") == "strong"
