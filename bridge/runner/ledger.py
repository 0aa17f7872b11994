"""The ledger: one JSON file per active fault, written before we rely on it and removed only
after its recovery is confirmed. `mqdrill recover` reads it back after a crash.

For an engine that can name what it will create before creating it (the Kubernetes object
engines: the object names are in the plan), the entry is written *before* the inject, so an
object whose inject failed and whose rollback failed too is still found by `mqdrill recover RUN`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from bridge.engines.base import Handle, Plan


@runtime_checkable
class NamesAhead(Protocol):
    """An engine whose handle is known from the plan, before anything exists."""

    def planned_handle(self, plan: Plan) -> Handle: ...


@dataclass(frozen=True)
class Entry:
    """An active fault: the handle recovery needs, where its run lives, and its hard end."""

    handle: Handle
    run_dir: str
    deadline: float  # Unix time of the fault's own hard end
    path: Path

    @property
    def key(self) -> str:
        return self.path.stem


class Ledger:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _file(self, handle: Handle) -> Path:
        name = f"{handle.run_id}--{handle.engine}--{handle.ref}"
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
        return self.root / f"{safe[:200]}.json"

    def add(self, handle: Handle, *, run_dir: str, deadline: float) -> Entry:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self._file(handle)
        data = {"handle": handle.to_json(), "run_dir": run_dir, "deadline": deadline}
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(data, f)
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(path)
        return Entry(handle, run_dir, deadline, path)

    def add_planned(self, engine: object, plan: Plan, *, run_dir: str, deadline: float) -> Entry | None:
        """Record what ``engine`` is about to create for ``plan``; ``None`` if it cannot say in advance."""
        if not isinstance(engine, NamesAhead):
            return None
        return self.add(engine.planned_handle(plan), run_dir=run_dir, deadline=deadline)

    def replace(self, planned: Entry | None, handle: Handle, *, run_dir: str, deadline: float) -> Entry:
        """The entry for the injected ``handle``, in place of the one written ahead for it."""
        entry = self.add(handle, run_dir=run_dir, deadline=deadline)
        if planned is not None and planned.path != entry.path:
            planned.path.unlink(missing_ok=True)
        return entry

    def remove(self, handle: Handle) -> None:
        self._file(handle).unlink(missing_ok=True)

    def entries(self, run_id: str | None = None) -> list[Entry]:
        if not self.root.exists():
            return []
        out: list[Entry] = []
        for path in sorted(self.root.glob("*.json")):
            try:
                raw: dict[str, Any] = json.loads(path.read_text())
                entry = Entry(Handle.from_json(raw["handle"]), raw["run_dir"], float(raw["deadline"]), path)
            except (ValueError, KeyError, TypeError):
                continue  # a torn write of a file we never relied on
            if run_id is None or entry.handle.run_id == run_id:
                out.append(entry)
        return out
