"""The foundation's planners meet the engines: every ready-made Kubernetes drill is planned,
injected against the emulator (the test playing the controllers) or the stand-in blade (which
checks argv against the vendored spec), and recovered."""

from __future__ import annotations

import stat
import sys
from pathlib import Path

import pytest

from bridge.drills import plans_for
from bridge.engines.base import Plan
from bridge.engines.blade import BladeEngine
from bridge.engines.chaosblade import ChaosBladeEngine
from bridge.engines.chaosmesh import ChaosMeshEngine
from bridge.engines.k8s_objects import CHAOS_MESH_KINDS
from bridge.k8s import Kube
from bridge.spec.loader import load_drill
from tests.k8s.controllers import ChaosBladeOperator, ChaosMeshController
from tests.k8s.emulator import Emulator
from tests.k8s.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]
DRILLS = sorted((ROOT / "scenarios" / "drills" / "kubernetes").glob("*.yaml"))


def drill_plans(path: Path, run_id: str) -> list[Plan]:
    return plans_for(load_drill(str(path)), source=str(path), run_id=run_id)


@pytest.mark.parametrize("path", DRILLS, ids=[p.stem for p in DRILLS])
def test_ready_made_drill_runs_through_its_engine(
    path: Path, kube: Kube, emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id = f"rp-{path.stem}"[:40]
    plans = drill_plans(path, run_id)
    assert plans
    for plan in plans:
        if plan.engine == "chaosmesh":
            ns = plan.objects[0]["metadata"]["namespace"]
            ctls = [ChaosMeshController(emulator, ns, p) for p in CHAOS_MESH_KINDS.values()]
            clock = FakeClock(on_sleep=lambda n, ctls=ctls: [c.tick() for c in ctls])  # type: ignore[misc]
            eng: ChaosMeshEngine | ChaosBladeEngine | BladeEngine = ChaosMeshEngine(kube, clock=clock)
        elif plan.engine == "chaosblade":
            op = ChaosBladeOperator(emulator)
            eng = ChaosBladeEngine(kube, clock=FakeClock(on_sleep=lambda n, op=op: op.tick()))  # type: ignore[misc]
        else:
            exe = tmp_path / "blade"
            exe.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{Path(__file__).with_name("fake_blade.py")}" "$@"\n')
            exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
            monkeypatch.setenv("FAKE_BLADE_STATE", str(tmp_path / "state.json"))
            (tmp_path / "kubeconfig").write_text("apiVersion: v1\n")  # a missing one is refused before blade runs
            eng = BladeEngine(blade=str(exe), kubeconfig=str(tmp_path / "kubeconfig"), clock=FakeClock())
        handle = eng.inject(plan)
        assert eng.status(handle).status == "injected"
        eng.recover(handle)
        assert eng.status(handle).status == "recovered"
