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


def source_of(*drills: Any, name: str | None = None, suite: bool = True) -> Source:
    """A suite of the drills (named ``catalog``), or with ``suite=False`` the one drill as a file."""
    if not suite:
        assert len(drills) == 1
        return Source("drill.yaml", name or drills[0].display_name, False, (("drill.yaml", drills[0]),))
    pairs = tuple((f"test-suite.yaml drills[{i}]", d) for i, d in enumerate(drills))
    return Source("test-suite.yaml", name or "catalog", True, pairs)


def entry_drill(scenario: str, cause: str, **fields: Any) -> Any:
    """A drill for one catalog entry, written for the local engine as the shipped drills are."""
    return drill(name=f"{scenario}-{cause}"[:63], scenario=scenario, causes=[cause], **fields)
