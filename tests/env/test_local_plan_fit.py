"""Every action the local planner produces is one the local engine can apply and undo."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.engines.base import Fault, ParamValue, Target
from bridge.engines.local import LocalEngine
from bridge.env import faults, netfaults
from bridge.env.config import TARGET_SERVICES, EnvConfig

CAUSES: dict[str, dict[str, ParamValue]] = {
    "pod-kill": {"restart_after": 5.0},
    "process-kill": {},
    "process-pause": {},
    "network-delay": {"latency_ms": 200, "jitter_ms": 20, "direction": "both"},
    "network-loss": {"loss_percent": 50, "direction": "to"},
    "network-drop": {},
    "cpu-full": {"cpu_workers": 2, "cpu_load": 90},
    "disk-fill": {"fill_percent": 95},
}


@pytest.mark.parametrize("cause", sorted(CAUSES))
@pytest.mark.parametrize("component", ["broker", "namesrv", "proxy"])
def test_planned_actions_fit_the_engine(cause: str, component: str, tmp_path: Path) -> None:
    fault = Fault(
        run_id="r1",
        scenario="s",
        cause=cause,
        component=component,
        engine="local",
        target=Target(services=(component,)),
        duration_s=30,
        params=CAUSES[cause],
    )
    cfg = EnvConfig(state_dir=tmp_path, cache_dir=tmp_path)
    plan = LocalEngine(cfg).plan(fault)
    assert plan.local
    for action in plan.local:
        assert action.kind in faults.KINDS
        assert action.service in TARGET_SERVICES
        assert action.deadline_s == 30
        # the undo record is computable before anything is applied (kill/pause need a live pid)
        undo = faults.planned_undo(cfg, action.kind, action.service, action.params, "f")
        if action.kind == "toxic":
            toxic = netfaults.toxics_of(action.service, action.params, "f")[0]
            assert toxic.type in ("latency", "timeout", "reset_peer", "bandwidth")
            assert undo["toxics"]
