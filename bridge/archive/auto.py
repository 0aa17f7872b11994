"""Auto-archive: runs and suites left unarchived for N days (default 30) are archived with the
conclusion "auto-archived".

Where the check runs: ``mqdrill archive auto`` (cron-friendly), and at the start of
``mqdrill analyze`` and ``mqdrill report``, over the reports root's ``runs/`` and ``suites/``
(``$MQDRILL_REPORTS``, else the repository's ``reports``). A run's age counts from its ``ended_at`` (else
``started_at``, else run.json's modification time); it is due when age >= N days exactly.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from bridge.archive.store import Clock, archive, archived_marker
from bridge.timefmt import epoch

DAY_S = 86_400.0
DEFAULT_DAYS = 30.0
AUTO_CONCLUSION = "auto-archived"


def reports_root(option: str | Path | None = None) -> Path:
    from bridge.paths import reports_dir

    return Path(option) if option else reports_dir()


def auto_days(option: float | None = None) -> float:
    if option is not None:
        return option
    raw = os.environ.get("MQDRILL_AUTO_ARCHIVE_DAYS")
    try:
        return float(raw) if raw else DEFAULT_DAYS
    except ValueError:
        return DEFAULT_DAYS


def finished_at(path: Path) -> float | None:
    """When the run or suite ended, as Unix seconds."""
    for name in ("run.json", "suite.json"):
        f = path / name
        if f.is_file():
            try:
                meta = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                meta = {}
            if isinstance(meta, dict):
                for key in ("ended_at", "started_at"):
                    ts = epoch(meta.get(key))
                    if ts is not None:
                        return ts
            return f.stat().st_mtime
    return None


def candidates(root: Path) -> list[Path]:
    """Unarchived run directories under runs/ and suite directories under suites/."""
    out = []
    for sub, marker in (("runs", "run.json"), ("suites", "suite.json")):
        base = root / sub
        if base.is_dir():
            out += [p for p in sorted(base.iterdir()) if (p / marker).is_file() and archived_marker(p) is None]
    return out


def auto_archive(
    *,
    reports: str | Path | None = None,
    archive_at: str | Path | None = None,
    days: float | None = None,
    clock: Clock = time.time,
) -> list[dict[str, Any]]:
    """Archive every run and suite whose age has reached ``days``; return the new entries."""
    limit = auto_days(days) * DAY_S
    now = clock()
    done = []
    for path in candidates(reports_root(reports)):
        ended = finished_at(path)
        if ended is not None and now - ended >= limit:
            done.append(
                archive(path, conclusion=AUTO_CONCLUSION, verified=False, root=archive_at, clock=clock, auto=True)
            )
    return done
