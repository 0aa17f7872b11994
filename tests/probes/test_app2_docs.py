"""The drill-language guide's worked example is the shipped drill of the second application."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bridge.spec.loader import load_drill
from bridge.spec.models import SteadyState

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "drill-language.md"


def test_the_worked_example_is_the_shipped_orders_drill() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)
    (shown,) = [b for b in blocks if "kind: rocketmq-canary" in b]
    written = SteadyState.model_validate(yaml.safe_load(shown)["steady_state"])
    shipped = load_drill(ROOT / "scenarios" / "drills" / "local" / "orders-broker-unavailable.yaml")
    assert written.model_dump() == shipped.steady_state.model_dump()
    assert [p.kind for p in written.probes] == ["http", "eventually", "rocketmq-canary", "prometheus"]


def test_an_export_checks_the_health_of_the_drills_own_http_application() -> None:
    from bridge.export.steady import checks

    drill = load_drill(ROOT / "scenarios" / "drills" / "kubernetes" / "orders-broker-unavailable-chaosmesh.yaml")
    assert [(c.name, c.url) for c in checks(drill)] == [
        ("orders-healthy", "http://orders.mqdrill-demo.svc.cluster.local:8070/healthz")
    ]
