"""The suite directory: one run directory per drill, and ``suite.json`` (schema mqdrill.suite/v1)
rewritten after every drill so an interrupted suite can be resumed."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.timefmt import iso

SUITE_SCHEMA = "mqdrill.suite/v1"


@dataclass
class DrillOutcome:
    """How one drill of the suite ended, read back from its run directory."""

    key: str
    drill: str
    source: str
    scenario: str
    expected: str
    run_dir: str  # relative to the suite directory
    status: str  # pending | running | completed | aborted | failed | interrupted
    reason: str | None = None
    verdicts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def mismatch(self) -> bool:
        return any(v.get("matches_expected") is False for v in self.verdicts)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "drill": self.drill,
            "source": self.source,
            "scenario": self.scenario,
            "expected": self.expected,
            "run_dir": self.run_dir,
            "status": self.status,
            "reason": self.reason,
            "verdicts": self.verdicts,
            "matches_expected": not self.mismatch if self.verdicts else None,
        }


def read_outcome(suite_dir: Path, outcome: DrillOutcome) -> DrillOutcome:
    """Fill status and verdicts from the run directory's own files."""
    run = suite_dir / outcome.run_dir
    meta_path, verdict_path = run / "run.json", run / "verdict.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        outcome.status = str(meta.get("status", "failed"))
        outcome.reason = meta.get("reason")
        if outcome.status == "running":
            outcome.status = "interrupted"  # run.json never got its last write: the process died
    if verdict_path.exists():
        outcome.verdicts = list(json.loads(verdict_path.read_text()).get("verdicts", []))
    return outcome


class SuiteDir:
    def __init__(self, path: Path, *, suite_id: str, name: str) -> None:
        self.path = path
        self.meta: dict[str, Any] = {
            "schema": SUITE_SCHEMA,
            "suite_id": suite_id,
            "name": name,
            "started_at": iso(time.time()),
            "ended_at": None,
            "status": "running",
        }
        self.outcomes: dict[str, DrillOutcome] = {}
        self._lock = threading.Lock()

    def save(self) -> None:
        with self._lock:
            data = {**self.meta, "runs": [o.to_json() for o in self.outcomes.values()]}
            self.path.mkdir(parents=True, exist_ok=True)
            tmp = self.path / "suite.json.tmp"
            tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False))
            tmp.replace(self.path / "suite.json")

    def finish(self, status: str) -> None:
        self.meta["status"] = status
        self.meta["ended_at"] = iso(time.time())
        self.save()

    @staticmethod
    def load_meta(path: Path) -> dict[str, Any]:
        return dict(json.loads((path / "suite.json").read_text()))
