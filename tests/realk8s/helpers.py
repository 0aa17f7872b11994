"""Plans and engines for the realk8s tests: the catalog's planners, the real engines, the bed's
kubeconfig; nothing stands in for the controllers."""

from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any

from bridge.engines.base import Plan
from bridge.engines.chaosblade import ChaosBladeEngine
from bridge.engines.chaosmesh import ChaosMeshEngine
from bridge.engines.planning import plan_drill
from bridge.spec.catalog import load_catalog
from bridge.spec.resolve import resolve
from tests.realk8s.rest import Rest
from tests.realk8s.testbed import DEMO_NS
from tests.support.drills import drill

CATALOG = load_catalog()
_ids = itertools.count(1)


def run_id(tag: str) -> str:
    return f"20261201-000000-{tag}-{next(_ids):03d}-{int(time.time()) % 100000:05d}"


def plan(
    scenario: str,
    cause: str,
    *,
    engine: str = "chaosmesh",
    namespace: str = DEMO_NS,
    fault_s: float = 5,
    tag: str = "rk",
    **fields: Any,
) -> Plan:
    """The one plan a drill of ``scenario``/``cause`` makes; its duration is ``fault_s`` + 15 s."""
    d = drill(
        scenario=scenario,
        causes=[cause],
        engine=engine,
        targets={"namespace": namespace},
        windows={"baseline": 1, "fault": fault_s, "recovery": 1},
        **fields,
    )
    plans = plan_drill(resolve(d, CATALOG, run_id=run_id(tag)), CATALOG)
    assert len(plans) == 1
    return plans[0]


def chaosmesh(kubeconfig: Path, **kw: Any) -> ChaosMeshEngine:
    return ChaosMeshEngine(kubeconfig=str(kubeconfig), poll_s=0.5, retry_delay_s=1, **kw)


def chaosblade(kubeconfig: Path, **kw: Any) -> ChaosBladeEngine:
    return ChaosBladeEngine(kubeconfig=str(kubeconfig), poll_s=0.5, retry_delay_s=1, **kw)


def chaos_path(obj: dict[str, Any]) -> str:
    """The REST path of a planned object, to read it back as the administrator."""
    kind = obj["kind"]
    if kind == "ChaosBlade":
        return f"/apis/chaosblade.io/v1alpha1/chaosblades/{obj['metadata']['name']}"
    plural = kind.lower()
    return f"/apis/chaos-mesh.org/v1alpha1/namespaces/{obj['metadata']['namespace']}/{plural}/{obj['metadata']['name']}"


def gone(admin: Rest, obj: dict[str, Any]) -> bool:
    return admin.get_or_none(chaos_path(obj)) is None


def wait_gone(admin: Rest, obj: dict[str, Any], timeout_s: float = 30) -> None:
    admin.wait_for(f"{obj['kind']} {obj['metadata']['name']} gone", lambda: gone(admin, obj), timeout_s=timeout_s)


class SteadyProbe:
    """The probe's part when there is no application to probe (kwok runs no containers): the
    steady state always holds. Everything else of the run is real: wiring, engines, preflight
    against the cluster, pod-log collectors, the ledger."""

    def __init__(self, drill: object, run_dir: Path) -> None:
        self.run_dir = run_dir

    def start(self) -> None: ...

    def stats(self, window_s: float) -> Any:
        from bridge.runner.ports import LiveStats

        return LiveStats(count=int(window_s * 10), success_ratio=1.0, p95_ms=10.0)

    def check_s(self) -> float:
        return 1.0

    def begin_baseline(self) -> None: ...

    def check(self) -> str | None:
        return None

    def stop(self) -> None: ...


def real_deps(drill_: Any, kubeconfig: Path, **replace: Any) -> Any:
    """`mqdrill run --kubeconfig` 's deps, with the steady probe and no report."""
    import dataclasses

    from bridge.runner.wiring import build_deps

    deps = build_deps(drill_, report=False, kubeconfig=str(kubeconfig))
    return dataclasses.replace(deps, probe_for=SteadyProbe, after_run=None, tick_s=0.5, **replace)


def short(drill_: Any, fault_s: float = 4) -> Any:
    from bridge.spec.models import Windows

    return drill_.model_copy(update={"windows": Windows(baseline=2, fault=fault_s, recovery=1)})


def events(run_dir: Path) -> list[dict[str, Any]]:
    import json

    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
