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
