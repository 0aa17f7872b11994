"""RBAC as shipped: demo-k8s/rbac applied to the real API server, and every ready-made Kubernetes
drill of the chaosmesh and chaosblade engines run with a token for its ServiceAccount — through
the real wiring of `mqdrill run --kubeconfig` (target check, engines, pod-log collectors, ledger);
only the probe stands in, there being no application to probe on kwok pods."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.engines.chaosblade import ChaosBladeEngine
from bridge.engines.chaosmesh import ChaosMeshEngine
from bridge.errors import InjectionError, KubernetesError
from bridge.runner.ledger import Ledger
from bridge.runner.lifecycle import run_drill
from bridge.spec.loader import load_drill
from tests.realk8s import helpers
from tests.realk8s.bootstrap import wait_workloads_ready
from tests.realk8s.helpers import plan, real_deps, short
from tests.realk8s.testbed import DEMO_NS, UNANNOTATED_NS, Bed

ROOT = Path(__file__).resolve().parents[2]
DRILLS = sorted(
    p
    for p in (ROOT / "scenarios" / "drills" / "kubernetes").glob("*.yaml")
    if load_drill(str(p)).engine in ("chaosmesh", "chaosblade")
)
# What a kwok cluster can inject: faults made through the API alone.
INJECTABLE = {("chaosmesh", "pod-kill"), ("chaosmesh", "pod-failure"), ("chaosblade", "pod-kill")}


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQDRILL_LEDGER", str(tmp_path / "ledger"))
    monkeypatch.setenv("MQDRILL_REPORTS", str(tmp_path / "reports"))


@pytest.mark.parametrize("path", DRILLS, ids=[p.stem for p in DRILLS])
def test_ready_made_drill_as_the_least_privileged_service_account(
    healthy: Bed, sa_kubeconfig: Path, path: Path, tmp_path: Path
) -> None:
    wait_workloads_ready(healthy, DEMO_NS)
    drill = short(load_drill(str(path)))
    result = run_drill(drill, real_deps(drill, sa_kubeconfig), out=tmp_path / "run", source=str(path))
    steps = [
        (e["event"], e.get("state")) for e in helpers.events(result.run_dir) if e["event"] in ("inject", "recover")
    ]
    cause = drill.causes[0]
    assert "forbidden" not in str(result.reason), result.reason
    if (drill.engine, cause) in INJECTABLE:
        assert result.status == "completed", result.reason
        assert steps == [
            ("inject", "requested"),
            ("inject", "confirmed"),
            ("recover", "requested"),
            ("recover", "confirmed"),
        ]
    else:  # needs chaos-daemon, or an exec in a chaosblade-tool pod (kwok refuses it): in the controller's words
        assert result.status == "failed" and "the controller reported a failed injection" in str(result.reason)
        assert steps[:2] == [("inject", "requested"), ("inject", "failed")]
        assert steps[-1] == ("recover", "confirmed")
    assert result.recovery_errors == []
    assert Ledger(tmp_path / "ledger").entries() == []
    assert (result.run_dir / "logs").is_dir()  # the collectors ran against the same cluster


def test_the_sweep_lists_every_kind_as_the_service_account(healthy: Bed, sa_kubeconfig: Path) -> None:
    assert ChaosMeshEngine(kubeconfig=str(sa_kubeconfig)).list_leftovers() == []
    assert ChaosBladeEngine(kubeconfig=str(sa_kubeconfig)).list_leftovers() == []


def test_a_missing_permission_is_named(healthy: Bed, sa_kubeconfig: Path) -> None:
    # The Role is granted in mqdrill-demo only: a drill elsewhere is refused, and told exactly what to grant.
    p = plan("broker-unavailable", "pod-kill", namespace=UNANNOTATED_NS, tag="rbacns")
    with pytest.raises(KubernetesError) as err:
        helpers.chaosmesh(sa_kubeconfig).inject(p)
    assert not isinstance(err.value, InjectionError)
    text = str(err.value)
    assert f"verb 'create' on 'podchaos.chaos-mesh.org' in namespace '{UNANNOTATED_NS}'" in text
    assert "demo-k8s/rbac" in text
