"""The chaosblade-operator engine (a cluster-scoped ChaosBlade) against the emulator, playing the operator.

Only what the real operator (tests/realk8s/test_chaosblade_real.py) cannot be made to do stays
here: linger after writing ``Destroyed``, or hold its finalizer on an injected experiment (the
operator uninstalled mid-drill), on a fake clock."""

from __future__ import annotations

import pytest

from bridge.engines.chaosblade import ChaosBladeEngine
from bridge.errors import RecoveryError
from bridge.k8s import Kube
from tests.k8s.controllers import CB, ChaosBladeOperator
from tests.k8s.emulator import Emulator
from tests.k8s.fakes import FakeClock
from tests.k8s.plans import chaosblade_plan


def engine(kube: Kube, clock: FakeClock, **kw: object) -> ChaosBladeEngine:
    return ChaosBladeEngine(
        kube, clock=clock, confirm_timeout_s=20, recover_timeout_s=20, poll_s=2, retry_delay_s=1, **kw
    )  # type: ignore[arg-type]


def names(op: ChaosBladeOperator, run_id: str) -> list[str]:
    return [o["metadata"]["name"] for o in op.objects() if o["metadata"]["labels"]["mqdrill.io/run-id"] == run_id]


def test_destroyed_phase_counts_as_recovered_even_if_object_lingers(
    kube: Kube, emulator: Emulator, namespace: str
) -> None:
    op = ChaosBladeOperator(emulator)
    clock = FakeClock(on_sleep=lambda n: op.tick())
    eng = engine(kube, clock)
    handle = eng.inject(chaosblade_plan("b3", namespace))
    op.release_finalizers = False
    name = "mqdrill-b3-broker-process-kill"
    clock.on_sleep = lambda n: emulator.merge_patch(f"{CB}/{name}/status", {"status": {"phase": "Destroyed"}})
    eng.recover(handle)
    assert eng.status(handle).status == "recovered"


def test_stuck_finalizer_reported_then_cleared_when_asked(kube: Kube, emulator: Emulator, namespace: str) -> None:
    op = ChaosBladeOperator(emulator)
    clock = FakeClock(on_sleep=lambda n: op.tick())
    handle = engine(kube, clock).inject(chaosblade_plan("b4", namespace))
    op.release_finalizers = False  # the operator was uninstalled mid-drill
    with pytest.raises(RecoveryError, match="finalizers still held: finalizer.chaosblade.io") as err:
        engine(kube, clock).recover(handle)
    assert err.value.leftovers == ["chaosblades/mqdrill-b4-broker-process-kill"]
    engine(kube, clock, force_clean=True).recover(handle)
    assert names(op, "b4") == []


def test_leftovers_by_label(kube: Kube, emulator: Emulator, namespace: str) -> None:
    op = ChaosBladeOperator(emulator)
    clock = FakeClock(on_sleep=lambda n: op.tick())
    engine(kube, clock).inject(chaosblade_plan("b5", namespace))
    found = engine(kube, clock).list_leftovers("b5")
    assert [str(r) for r in found] == ["chaosblades/mqdrill-b5-broker-process-kill"]
    engine(kube, clock).delete_leftovers("b5")
    assert names(op, "b5") == []
