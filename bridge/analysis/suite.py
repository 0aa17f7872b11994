"""Suite directories: suite.json and one run directory per drill; the dependency matrix."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.analysis.analyze import analyze

RANK = {"strong": 3, "weak": 2, "inconclusive": 1}


@dataclass
class SuiteRow:
    drill: str
    run_dir: Path
    status: str
    verdict: dict[str, Any]  # the verdict entry (first of verdict.json's list)
    scenario: str


@dataclass
class SuiteData:
    path: Path
    meta: dict[str, Any]
    rows: list[SuiteRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _verdict(run_dir: Path) -> dict[str, Any]:
    try:
        doc = json.loads((run_dir / "verdict.json").read_text(encoding="utf-8"))
        return dict(doc["verdicts"][0])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return dict(analyze(run_dir).verdict()["verdicts"][0])


def read_suite(path: str | Path) -> SuiteData:
    """Read suite.json tolerantly; each run's verdict from verdict.json, else analysed in memory."""
    root = Path(path)
    suite = SuiteData(root, {})
    try:
        suite.meta = json.loads((root / "suite.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        suite.notes.append(f"suite.json could not be read ({type(exc).__name__}).")
    for entry in suite.meta.get("runs") or []:
        if not isinstance(entry, dict) or "run_dir" not in entry:
            suite.notes.append("suite.json has a run entry without run_dir; skipped.")
            continue
        run_dir = root / str(entry["run_dir"])
        if not run_dir.is_dir():
            suite.notes.append(f"{entry['run_dir']} is missing; skipped.")
            continue
        try:
            scenario = str(json.loads((run_dir / "run.json").read_text(encoding="utf-8")).get("scenario", ""))
        except (OSError, ValueError, AttributeError):
            scenario = ""
        suite.rows.append(
            SuiteRow(
                str(entry.get("drill") or run_dir.name),
                run_dir,
                str(entry.get("status") or ""),
                _verdict(run_dir),
                scenario,
            )
        )
    return suite


def dependency_matrix(suite: SuiteData) -> tuple[list[str], list[str], dict[tuple[str, str], dict[str, Any]]]:
    """Applications x components; each cell the strongest conclusive verdict across scenarios.

    Returns (apps, components, cells) with cells[(app, component)] = {"strength", "scenarios"}.
    """
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for row in suite.rows:
        key = (str(row.verdict.get("app")), str(row.verdict.get("dependency")))
        strength = str(row.verdict.get("strength"))
        cell = cells.setdefault(key, {"strength": strength, "scenarios": []})
        cell["scenarios"].append(f"{row.scenario or row.drill}: {strength}")
        if RANK.get(strength, 0) > RANK.get(cell["strength"], 0):
            cell["strength"] = strength
    apps = sorted({k[0] for k in cells})
    comps = sorted({k[1] for k in cells})
    return apps, comps, cells
