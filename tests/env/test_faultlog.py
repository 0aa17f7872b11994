"""Fault records and their watchdog processes, without the RocketMQ environment."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bridge.env import faultlog, procs
from bridge.env.config import REPO_ROOT, EnvConfig
from bridge.errors import InjectionError


@pytest.fixture
def cfg(tmp_path: Path) -> EnvConfig:
    config = EnvConfig(state_dir=tmp_path / "state", cache_dir=REPO_ROOT / ".cache")
    config.save()  # the watchdog reads it back
    return config


def _watchdog(record: dict[str, object]) -> procs.ProcId:
    dog = record["watchdog"]
    assert isinstance(dog, dict)
    return procs.ProcId(dog["pid"], dog["start"])


def test_a_failed_inject_is_taken_back_and_its_watchdog_retired(cfg: EnvConfig) -> None:
    # the store is not on its bounded filesystem here, so disk-fill must refuse
    with pytest.raises(InjectionError, match="bounded filesystem"):
        faultlog.inject(cfg, "f-disk", "disk-fill", "broker", {"percent": 95}, 30)
    record = faultlog.load(cfg, "f-disk")
    assert record["recovered_by"] == "inject-failed"
    assert procs.wait_gone(_watchdog(record), 5)
    assert faultlog.active_ids(cfg) == []


def test_a_fault_without_a_hard_end_is_refused(cfg: EnvConfig) -> None:
    with pytest.raises(InjectionError, match="deadline_s must be > 0"):
        faultlog.inject(cfg, "f-none", "cpu-stress", "broker", {"workers": 1, "load": 5}, 0)


def test_the_watchdog_ends_the_fault_at_its_deadline(cfg: EnvConfig) -> None:
    record = faultlog.inject(cfg, "f-cpu", "cpu-stress", "broker", {"workers": 1, "load": 5}, 2)
    stress = procs.ProcId(record["undo"]["pid"], record["undo"]["start"])
    assert procs.is_running(stress)
    assert faultlog.active_ids(cfg) == ["f-cpu"]
    assert procs.wait_gone(_watchdog(record), 15)
    done = faultlog.load(cfg, "f-cpu")
    assert done["recovered_by"] == "watchdog"
    assert record["deadline_at"] <= done["recovered_at"] <= record["deadline_at"] + 3
    assert not procs.is_running(stress)


def test_recovery_by_mqdrill_is_idempotent_and_retires_the_watchdog(cfg: EnvConfig) -> None:
    record = faultlog.inject(cfg, "f-cpu2", "cpu-stress", "broker", {"workers": 1, "load": 5}, 60)
    first = faultlog.recover(cfg, "f-cpu2")
    again = faultlog.recover(cfg, "f-cpu2")
    assert first["recovered_by"] == again["recovered_by"] == "mqdrill"
    assert first["recovered_at"] == again["recovered_at"]
    assert not procs.is_running(_watchdog(record))
    assert faultlog.observe(cfg, "f-cpu2")[0] == "recovered"
    assert time.time() < record["deadline_at"]
