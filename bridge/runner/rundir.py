"""Writing a run directory (contract v1 in DESIGN.md) as the drill happens.

Events are appended and flushed (and fsynced) one by one, so a crash leaves an analysable
journal; ``run.json`` is written first with status ``running`` and rewritten when the run ends,
so a crashed run is recognisable by a status other than ``completed``.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from bridge.spec.models import Drill
from bridge.timefmt import iso

RUN_SCHEMA = "mqdrill.run/v1"
Clock = Callable[[], float]


class RunDir:
    """One run directory: paths, ``run.json``, ``drill.yaml`` and the event journal."""

    def __init__(self, path: Path, *, clock: Clock = time.time) -> None:
        self.path = path
        self.clock = clock
        self.meta: dict[str, Any] = {}

    @property
    def probe_csv(self) -> Path:
        return self.path / "probe.csv"

    @property
    def metrics_csv(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def logs(self) -> Path:
        return self.path / "logs"

    @property
    def events_path(self) -> Path:
        return self.path / "events.jsonl"

    def create(self, drill: Drill, meta: dict[str, Any]) -> None:
        """Make the directory and write ``drill.yaml`` (defaults filled in) and the first ``run.json``."""
        self.path.mkdir(parents=True, exist_ok=False)
        self.logs.mkdir()
        dumped = drill.model_dump(mode="json", by_alias=True)
        (self.path / "drill.yaml").write_text(yaml.safe_dump(dumped, sort_keys=False))
        self.meta = {
            "schema": RUN_SCHEMA,
            **meta,
            "started_at": iso(self.clock()),
            "ended_at": None,
            "status": "running",
        }
        self._write_meta()

    def event(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one event, flushed to disk before returning."""
        record = {"t": round(self.clock(), 6), "event": event, **fields}
        with open(self.events_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())
        return record

    def finish(self, status: str, **extra: Any) -> None:
        """The last write of a run: status completed | aborted | failed, and when it ended."""
        self.meta.update(extra)
        self.meta["status"] = status
        self.meta["ended_at"] = iso(self.clock())
        self._write_meta()

    def _write_meta(self) -> None:
        tmp = self.path / "run.json.tmp"
        tmp.write_text(json.dumps(self.meta, indent=2, ensure_ascii=False))
        tmp.replace(self.path / "run.json")

    def events(self) -> list[dict[str, Any]]:
        if not self.events_path.exists():
            return []
        return [json.loads(line) for line in self.events_path.read_text().splitlines() if line.strip()]
