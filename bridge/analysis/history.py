"""How each verdict changed over time, from the run directories on disk: loose runs, suites and
the archive. A regression — weak before, strong now — stands out, and so does a fix — strong
before, weak now (a protection that worked).

Reads files only (run.json, verdict.json, suite.json), like the analysis: anyone can rebuild the
history from a copy of ``reports/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

STRENGTH_ORDER = {"weak": 0, "inconclusive": 1, "strong": 2}


@dataclass(frozen=True)
class Record:
    """One verdict of one run."""

    started_at: str
    run_id: str
    app: str
    dependency: str
    scenario: str
    strength: str
    recovered: bool | None
    expected: str
    run_dir: str
    channel: str = ""  # how the app used the dependency (rocketmq | http): a different experiment

    @property
    def key(self) -> tuple[str, str, str, str]:
        """What makes two verdicts comparable: same app, dependency, scenario and channel."""
        return (self.app, self.dependency, self.scenario, self.channel)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Change:
    """Two consecutive verdicts of the same (app, dependency, scenario, channel) that differ."""

    app: str
    dependency: str
    scenario: str
    channel: str
    before: Record
    after: Record

    @property
    def regression(self) -> bool:
        return self.before.strength == "weak" and self.after.strength == "strong"

    @property
    def fix(self) -> bool:
        """Strong before, weak now: what a protection that works looks like."""
        return self.before.strength == "strong" and self.after.strength == "weak"

    def to_json(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "dependency": self.dependency,
            "scenario": self.scenario,
            "channel": self.channel,
            "from": self.before.strength,
            "to": self.after.strength,
            "regression": self.regression,
            "fix": self.fix,
            "before": self.before.to_json(),
            "after": self.after.to_json(),
        }


def _run_dirs(root: Path) -> Iterator[Path]:
    """Every directory under ``root`` holding both run.json and verdict.json (runs, suites, archive)."""
    if not root.exists():
        return
    for verdict in sorted(root.rglob("verdict.json")):
        if (verdict.parent / "run.json").exists():
            yield verdict.parent


def _records_of(run_dir: Path) -> list[Record]:
    try:
        meta = json.loads((run_dir / "run.json").read_text())
        verdicts = json.loads((run_dir / "verdict.json").read_text()).get("verdicts", [])
    except (OSError, ValueError):
        return []  # a damaged or half-written run is skipped, not fatal
    return [
        Record(
            started_at=str(meta.get("started_at") or ""),
            run_id=str(meta.get("run_id") or run_dir.name),
            app=str(v.get("app")),
            dependency=str(v.get("dependency")),
            scenario=str(meta.get("scenario")),
            strength=str(v.get("strength")),
            recovered=v.get("recovered"),
            expected=str(v.get("expected")),
            run_dir=str(run_dir),
            channel=str(meta.get("channel") or ""),
        )
        for v in verdicts
    ]


def collect(roots: Iterable[Path], *, app: str | None = None, dependency: str | None = None) -> list[Record]:
    """Every verdict under the roots, oldest first, each run counted once (an archived copy of a run
    and its original are the same run)."""
    seen: set[tuple[str, str, str]] = set()
    out: list[Record] = []
    for root in roots:
        for run_dir in _run_dirs(root):
            for r in _records_of(run_dir):
                key = (r.run_id, r.app, r.dependency)
                if key in seen or (app and r.app != app) or (dependency and r.dependency != dependency):
                    continue
                seen.add(key)
                out.append(r)
    return sorted(out, key=lambda r: (r.started_at, r.run_id))


def changes(records: list[Record]) -> list[Change]:
    """Where a verdict differs from the previous conclusive one for the same (app, dependency, scenario, channel);
    inconclusive runs say nothing about the dependency, so they neither start nor break a change."""
    last: dict[tuple[str, str, str, str], Record] = {}
    out: list[Change] = []
    for r in records:
        if r.strength not in ("strong", "weak"):
            continue
        prev = last.get(r.key)
        if prev is not None and prev.strength != r.strength:
            out.append(Change(r.app, r.dependency, r.scenario, r.channel, prev, r))
        last[r.key] = r
    return out


def series(records: list[Record]) -> dict[tuple[str, str, str, str], list[Record]]:
    """Records grouped by (app, dependency, scenario, channel), each oldest first: one line of the figure."""
    out: dict[tuple[str, str, str, str], list[Record]] = {}
    for r in records:
        out.setdefault(r.key, []).append(r)
    return out


def label(key: tuple[str, str, str, str]) -> str:
    app, dependency, scenario, channel = key
    return f"{app} → {dependency} ({scenario}{', ' + channel if channel else ''})"
