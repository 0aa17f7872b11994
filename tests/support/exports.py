"""Building export sources from drills, without files."""

from __future__ import annotations

from typing import Any

from bridge.export import Source
from bridge.spec.catalog import load_catalog
from tests.support.drills import drill

RUN_ID = "20261128-220000-export-ab12"


def entries_for(engine: str) -> list[tuple[str, str]]:
    """Every catalog (scenario, cause) that ``engine`` can produce."""
    return [(str(e["scenario"]), str(e["cause"])) for e in load_catalog().entries() if engine in e["engines"]]  # type: ignore[operator]


def source_of(*drills: Any, name: str = "catalog", suite: bool = True) -> Source:
    return Source(
        "test-suite.yaml", name, suite, tuple((f"test-suite.yaml drills[{i}]", d) for i, d in enumerate(drills))
    )


def entry_drill(scenario: str, cause: str, **fields: Any) -> Any:
    """A drill for one catalog entry, written for the local engine as the shipped drills are."""
    return drill(name=f"{scenario}-{cause}"[:63], scenario=scenario, causes=[cause], **fields)
