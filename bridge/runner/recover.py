"""`mqdrill recover`: end every leftover fault — from the ledger and, on Kubernetes, by the
``managed-by`` label — and report what was found. One failure never skips the others."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.engines.base import Engine, Handle
from bridge.runner.ledger import Ledger
from bridge.runner.rundir import RunDir


@dataclass
class RecoverReport:
    """What ``recover`` found, recovered and could not; ``already_ended`` names the entries whose
    fault had already been ended before we came (by its hard end: the watchdog, the object's
    own duration), each with who ended it and when."""

    found: list[str] = field(default_factory=list)
    recovered: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    already_ended: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "found": self.found,
            "recovered": self.recovered,
            "failed": self.failed,
            "already_ended": self.already_ended,
        }


def _ended_before(engine: Engine, handle: Handle) -> str | None:
    """``already ended by the watchdog at …`` when the engine sees the fault over already, else None."""
    try:
        state = engine.status(handle)
    except Exception:  # noqa: BLE001 - unknown is not ended; the recovery below still runs
        return None
    if state.status != "recovered":
        return None
    first = state.detail.split(";")[0].strip()
    return f"already {first}" if first.startswith("ended ") else f"already ended ({first or 'no detail'})"


def run_id_of(run: str | Path) -> str:
    """A run id from a run directory (its run.json) or a bare run id."""
    path = Path(run)
    meta = path / "run.json"
    if meta.exists():
        return str(json.loads(meta.read_text())["run_id"])
    return str(run)


def recover_leftovers(
    ledger: Ledger,
    engine_for: Callable[[str], Engine],
    *,
    run_id: str | None = None,
    sweep_engines: tuple[str, ...] = (),
) -> RecoverReport:
    """Recover every ledger entry (of one run, or all), then sweep labelled leftovers in the cluster."""
    report = RecoverReport()
    for entry in ledger.entries(run_id):
        label = f"{entry.handle.engine} {entry.handle.ref} (run {entry.handle.run_id})"
        rundir = RunDir(Path(entry.run_dir)) if Path(entry.run_dir, "run.json").exists() else None
        try:
            engine = engine_for(entry.handle.engine)
        except Exception as exc:  # noqa: BLE001 - reported; the next entry still recovers
            report.found.append(label)
            report.failed.append(f"{label}: {exc}")
            continue
        try:
            ended = _ended_before(engine, entry.handle)
            if ended is not None:
                label = f"{label}: {ended}"
                report.already_ended.append(label)
            report.found.append(label)
            if rundir is not None:
                extra = {"note": ended} if ended else {}
                rundir.event(
                    "recover",
                    state="requested",
                    engine=entry.handle.engine,
                    ref=entry.handle.ref,
                    by="recover",
                    **extra,
                )
            engine.recover(entry.handle)
            state = engine.status(entry.handle)
            if state.status == "injected":
                raise RuntimeError(f"still injected: {state.detail}")
        except Exception as exc:  # noqa: BLE001 - reported; the next entry still recovers
            report.failed.append(f"{label}: {exc}")
            if rundir is not None:
                rundir.event(
                    "recover", state="failed", engine=entry.handle.engine, ref=entry.handle.ref, error=str(exc)
                )
            continue
        ledger.remove(entry.handle)
        report.recovered.append(label)
        if rundir is not None:
            rundir.event("recover", state="confirmed", engine=entry.handle.engine, ref=entry.handle.ref, by="recover")
    for name in sweep_engines:
        _sweep(name, engine_for, run_id, report)
    return report


def _sweep(name: str, engine_for: Callable[[str], Engine], run_id: str | None, report: RecoverReport) -> None:
    """Objects labelled managed-by=mqdrill that no ledger knows (e.g. the ledger's machine is gone)."""
    try:
        engine = engine_for(name)
        lister = getattr(engine, "list_leftovers", None)
        deleter = getattr(engine, "delete_leftovers", None)
        if lister is None or deleter is None:
            return
        leftovers = [str(x) for x in lister(run_id)]
        report.found.extend(f"{name} {x}" for x in leftovers)
        if leftovers:
            deleter(run_id)
            report.recovered.extend(f"{name} {x}" for x in leftovers)
    except Exception as exc:  # noqa: BLE001 - a cluster that cannot be reached is reported, not fatal
        report.failed.append(f"{name} sweep: {exc}")
