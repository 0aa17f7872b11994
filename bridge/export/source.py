"""What an export starts from: the drills of a drill or suite file, each re-planned with the engine
the target format needs, through the same planners `mqdrill plan` uses (nothing re-derived here).

A drill whose causes the engine cannot produce is refused with the planners' own message, which
names the engines that can; every refused drill of a suite is counted in the one-line error.
"""

from __future__ import annotations

import os
import re
import secrets
import time
from dataclasses import dataclass

from bridge.drills import plans_for
from bridge.engines.base import EngineName, Plan
from bridge.errors import InputError, MqdrillError, SafetyError, UnsupportedCombination
from bridge.spec.loader import load_document, suite_drills
from bridge.spec.models import Drill, Suite

# A run id ends up in label values (at most 63 characters) and, with a suffix, in object names.
RUN_ID_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$")


@dataclass(frozen=True)
class PlannedDrill:
    """One drill of the export with its plans for the format's engine."""

    source: str  # the drill's file, or `suite.yaml drills[i]`
    drill: Drill  # as written (suite overrides applied), before the engine is replaced
    run_id: str  # labels and object names of this drill's faults
    plans: tuple[Plan, ...]
    planned_as: Drill  # the drill with the format's engine: what the plans were made from

    @property
    def name(self) -> str:
        return self.drill.display_name


@dataclass(frozen=True)
class Source:
    """A loaded drill or suite file: its name, whether it is a suite, and its drills in order."""

    path: str
    name: str
    is_suite: bool
    drills: tuple[tuple[str, Drill], ...]  # (source, drill)


def load_source(path: str) -> Source:
    """Read a drill or suite file (errors name the file, line and field)."""
    doc = load_document(path)
    if isinstance(doc, Suite):
        drills = [(os.path.normpath(w) if os.path.isfile(w) else w, d) for w, d in suite_drills(doc, path)]
        return Source(path, doc.name, True, tuple(drills))
    return Source(path, doc.display_name, False, ((path, doc),))


def new_export_id(name: str, now: float | None = None) -> str:
    """``YYYYmmdd-HHMMSS-<name>-<4 hex>``, like a run id: sortable, a valid label value."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now if now is not None else time.time()))
    return f"{stamp}-{name[:28].rstrip('-')}-{secrets.token_hex(2)}"


def check_run_id(run_id: str) -> str:
    if not RUN_ID_PATTERN.match(run_id):
        raise InputError(f"--run-id {run_id[:70]!r}: use lowercase letters, digits and '-', at most 52 characters")
    return run_id


def plan_source(
    source: Source, *, engine: EngineName, fmt: str, run_id: str, kubeconfig: str | None = None
) -> list[PlannedDrill]:
    """Every drill planned with ``engine``; raises one InputError naming the refused drills."""
    planned: list[PlannedDrill] = []
    refusals: list[MqdrillError] = []
    for i, (where, drill) in enumerate(source.drills):
        drill_run_id = f"{run_id}-{i + 1}" if source.is_suite else run_id
        replanned = drill if drill.engine == engine else drill.model_copy(update={"engine": engine})
        try:
            plans = plans_for(replanned, source=where, run_id=drill_run_id, kubeconfig=kubeconfig)
        except MqdrillError as exc:  # unsupported cause, or a safety guard of the new engine
            refusals.append(exc)
            continue
        planned.append(PlannedDrill(where, drill, drill_run_id, tuple(plans), replanned))
    if refusals:
        more = f" (and {len(refusals) - 1} more of {len(source.drills)} drills)" if len(refusals) > 1 else ""
        message = f"cannot export to {fmt}: {refusals[0]}{more}"
        raise SafetyError(message) if isinstance(refusals[0], SafetyError) else UnsupportedCombination(message)
    return planned
