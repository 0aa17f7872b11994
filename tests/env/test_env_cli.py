"""`mqdrill env status` and `env repair` on an environment that is not running: the business path
is part of the answer, and repair refuses while a fault is active. No environment is started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.env.config import REPO_ROOT, EnvConfig


def _env(tmp_path: Path, offset: int = 19000) -> EnvConfig:
    cache = Path(os.environ.get("MQDRILL_CACHE") or REPO_ROOT / ".cache")
    if not any((cache / "rocketmq" / "lib").glob("rocketmq-proxy-*.jar")):
        pytest.skip("the RocketMQ jars are not installed (scripts/setup)")
    cfg = EnvConfig(state_dir=tmp_path / "env", cache_dir=cache, port_offset=offset)
    cfg.save()
    return cfg


def _mqdrill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True, timeout=60)


def test_status_of_a_stopped_environment_names_what_is_down_and_the_broken_links(tmp_path: Path) -> None:
    cfg = _env(tmp_path)
    done = _mqdrill("env", "status", "--state-dir", str(cfg.state_dir))
    assert done.returncode == 1
    first = done.stdout.splitlines()[0]
    assert first.startswith("NOT healthy: redis is not running;") and "consumer unreachable" in first
    assert "round_trip skipped" in first, "no message is sent through a stack that is down"
    info = json.loads(_mqdrill("env", "status", "--json", "--state-dir", str(cfg.state_dir)).stdout)
    assert info["healthy"] is False and info["processes_healthy"] is False
    assert info["business"]["checks"]["consumer"]["state"] == "unreachable"


def test_repair_refuses_while_a_fault_is_active(tmp_path: Path) -> None:
    cfg = _env(tmp_path)
    fault = cfg.faults_dir / "run-0-pause-broker-abc"
    fault.mkdir(parents=True)
    (fault / "fault.json").write_text(json.dumps({"id": fault.name, "kind": "pause", "service": "broker"}))
    done = _mqdrill("env", "repair", "--state-dir", str(cfg.state_dir))
    assert done.returncode == 2 and "faults are active: run-0-pause-broker-abc" in done.stderr
    assert "mqdrill recover --all" in done.stderr
