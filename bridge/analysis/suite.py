"""Suite directories: suite.json and one run directory per drill; the dependency matrix.

The matrix has one cell per application × component × channel: a drill of the ``http`` channel
is a different experiment from one of the ``rocketmq`` channel and is never merged with it. A
cell lists every drill in it; its verdict is the strongest conclusive one, or ``inconclusive``
when no drill in it could tell — an inconclusive drill is counted and shown, never hidden.
"""

from __future__ import annotations

import csv
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
    component: str = ""  # run.json's component (else the verdict's dependency)
    channel: str = ""  # how the app used it (run.json's channel: rocketmq | http | ...)
    meta: dict[str, Any] = field(default_factory=dict)  # run.json as read
    suite_dir: Path | None = None  # links are relative to it

    @property
    def report_link(self) -> str:
        """The drill's report.html, relative to the suite directory when it lies inside it."""
        return _relative(self.run_dir, self.suite_dir) + "/report.html"


def _relative(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.relative_to(root).as_posix()
        except ValueError:
            pass
    return path.resolve().as_uri()


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
        meta = _run_meta(run_dir)
        verdict = _verdict(run_dir)
        suite.rows.append(
            SuiteRow(
                str(entry.get("drill") or run_dir.name),
                run_dir,
                str(entry.get("status") or ""),
                verdict,
                str(meta.get("scenario") or ""),
                component=str(meta.get("component") or verdict.get("dependency") or ""),
                channel=str(meta.get("channel") or _probe_mode(run_dir)),
                meta=meta,
                suite_dir=root,
            )
        )
    return suite


def _probe_mode(run_dir: Path) -> str:
    """An older run.json without ``channel``: the ``mode`` of probe.csv's first row (header and one line read)."""
    try:
        with (run_dir / "probe.csv").open(encoding="utf-8", newline="") as f:
            row = next(csv.DictReader(f), None)
    except (OSError, csv.Error, UnicodeDecodeError):
        return ""
    return str((row or {}).get("mode") or "")


def _run_meta(run_dir: Path) -> dict[str, Any]:
    try:
        meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


@dataclass(frozen=True)
class MatrixDrill:
    """One drill in a matrix cell, with the link to its report."""

    drill: str
    scenario: str
    strength: str
    link: str


@dataclass
class MatrixCell:
    app: str
    component: str
    channel: str
    drills: list[MatrixDrill] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        """The strongest conclusive verdict; ``inconclusive`` only when no drill here could tell."""
        conclusive = [d.strength for d in self.drills if d.strength in ("strong", "weak")]
        return max(conclusive, key=RANK.__getitem__) if conclusive else "inconclusive"

    @property
    def inconclusive(self) -> int:
        """How many drills of this cell could not tell (shown beside the verdict, never dropped)."""
        return sum(1 for d in self.drills if d.strength not in ("strong", "weak"))

    @property
    def label(self) -> str:
        """What the cell says: "strong", "strong, 1 inconclusive", "inconclusive (2 drills)"."""
        n = len(self.drills)
        if self.verdict == "inconclusive":
            return "inconclusive" + (f" ({n} drills)" if n > 1 else "")
        return self.verdict + (f", {self.inconclusive} inconclusive" if self.inconclusive else "")


@dataclass
class Matrix:
    apps: list[str]
    columns: list[tuple[str, str]]  # (component, channel), sorted
    cells: dict[tuple[str, str, str], MatrixCell]  # (app, component, channel)

    def cell(self, app: str, component: str, channel: str) -> MatrixCell | None:
        return self.cells.get((app, component, channel))


def dependency_matrix(suite: SuiteData) -> Matrix:
    """Applications × (component, channel); each cell every drill of that triple, with its link."""
    cells: dict[tuple[str, str, str], MatrixCell] = {}
    for row in suite.rows:
        app = str(row.verdict.get("app") or row.meta.get("app") or "unknown")
        component = row.component or str(row.verdict.get("dependency") or "unknown")
        key = (app, component, row.channel)
        cell = cells.setdefault(key, MatrixCell(*key))
        strength = str(row.verdict.get("strength") or "inconclusive")
        cell.drills.append(MatrixDrill(row.drill, row.scenario, strength, row.report_link))
    apps = sorted({k[0] for k in cells})
    columns = sorted({(k[1], k[2]) for k in cells})
    return Matrix(apps, columns, cells)
