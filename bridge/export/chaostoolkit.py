"""A Chaos Toolkit experiment (JSON) that runs the drills with the ``blade`` CLI.

Why ``blade``: Chaos Toolkit's ``process`` provider runs an executable with an argv list and no
stdin, and every catalog cause has a ``blade`` plan, so each planned command becomes one action as
is. ``--uid`` names each experiment up front, so recovery (``blade destroy UID``) is known before
anything runs. Each ``blade create`` keeps its ``--timeout``: the fault ends even if nobody
destroys it. blade keeps every uid in its local database and refuses one it has seen, so the uids
carry ``${mqdrill_run}``, a configuration value read from the environment (``MQDRILL_RUN``) with
the export's own value as default: set it to a new word to run the same experiment again.

The experiment follows the drill's windows: the steady-state hypothesis is checked before the
method (the baseline) and after it; the method injects, waits the fault window, probes the steady
state while the fault is on (recorded in the journal, never judged: the verdict is mqdrill's),
destroys the faults and waits the recovery window, so the closing hypothesis asks whether the
business recovered. Rollbacks destroy every fault again, for a method that stopped half-way
(blade answers success for a uid already destroyed).
"""

from __future__ import annotations

import hashlib
from typing import Any

from bridge.engines.base import Plan
from bridge.export.source import PlannedDrill
from bridge.export.steady import SteadyCheck, checks
from bridge.spec.catalog import load_catalog

BLADE_TIMEOUT_S = 120  # a `blade create k8s` waits for the operator (20 s by default) and then some
RUN_KEY = "mqdrill_run"  # configuration key substituted into every uid
RUN_ENV = "MQDRILL_RUN"


def _seconds(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def run_word(run_id: str) -> str:
    """The default of ``${mqdrill_run}``: short, and a valid part of a Kubernetes name."""
    return hashlib.sha1(run_id.encode()).hexdigest()[:8]


def uids(drill_index: int, plan_index: int, plan: Plan) -> list[str]:
    """One ``--uid`` per argv of a plan, unique in the experiment (drill, fault, command)."""
    base = f"mq-${{{RUN_KEY}}}-{drill_index + 1}-{plan.fault.cause}-{plan_index}"
    return [f"{base}-{j}" for j in range(len(plan.argv))]


def _blade(name: str, argv: list[str]) -> dict[str, Any]:
    return {
        "type": "action",
        "name": name,
        "provider": {"type": "process", "path": argv[0], "arguments": argv[1:], "timeout": BLADE_TIMEOUT_S},
    }


def _probe(name: str, check: SteadyCheck, *, tolerance: bool) -> dict[str, Any]:
    probe: dict[str, Any] = {
        "type": "probe",
        "name": name,
        "provider": {"type": "http", "url": check.url, "method": "GET", "timeout": check.timeout_s},
    }
    if tolerance:
        probe["tolerance"] = check.status
    return probe


def _faults(k: int, d: PlannedDrill) -> list[tuple[str, list[str], str]]:
    """(cause, create argv with --uid, uid) for every command of the ``k``-th drill."""
    out: list[tuple[str, list[str], str]] = []
    for i, plan in enumerate(d.plans):
        for argv, uid in zip(plan.argv, uids(k, i, plan), strict=True):
            out.append((plan.fault.cause, [*argv, "--uid", uid], uid))
    return out


def drill_method(k: int, d: PlannedDrill, url: str | None) -> list[dict[str, Any]]:
    """Inject, hold the fault window, look at the steady state, recover, hold the recovery window."""
    faults = _faults(k, d)
    w = d.drill.windows
    inject = [_blade(f"{d.name}: inject {cause} ({uid})", argv) for cause, argv, uid in faults]
    inject[-1]["pauses"] = {"after": _seconds(w.fault)}
    during = [_probe(f"{d.name}: {c.name} during the fault", c, tolerance=False) for c in checks(d.drill, url)]
    recover = [_blade(f"{d.name}: recover {cause} ({uid})", ["blade", "destroy", uid]) for cause, _, uid in faults]
    recover[-1]["pauses"] = {"after": _seconds(w.recovery)}
    return [*inject, *during, *recover]


def _hypothesis(drills: list[PlannedDrill], url: str | None) -> dict[str, Any]:
    seen: dict[str, SteadyCheck] = {}
    for d in drills:
        for c in checks(d.drill, url):
            seen.setdefault(c.url, c)
    names = [c.name for c in seen.values()]
    probes = [
        _probe(c.name if names.count(c.name) == 1 else f"{c.name} {c.url}", c, tolerance=True) for c in seen.values()
    ]
    return {"title": "the shop answers: every steady-state request returns 200", "probes": probes}


def _describe(drills: list[PlannedDrill], name: str, suite: bool) -> tuple[str, str]:
    catalog = load_catalog()
    if not suite:
        d = drills[0]
        causes = ", ".join(p.fault.cause for p in d.plans)
        impact = catalog.scenario(d.drill.scenario).predicted_impact
        title = f"mqdrill drill {d.name}: {d.drill.scenario} by {causes}"
        text = " ".join(x for x in (d.drill.description, f"Predicted impact: {impact}") if x)
        return title, text
    listing = "; ".join(f"{d.name} ({d.drill.scenario} by {', '.join(p.fault.cause for p in d.plans)})" for d in drills)
    return f"mqdrill suite {name}: {len(drills)} drills in series", f"Drills, in order: {listing}."


def _tags(drills: list[PlannedDrill]) -> list[str]:
    tags = ["mqdrill", "rocketmq", "blade"]
    for d in drills:
        tags += [d.drill.scenario, *(p.fault.cause for p in d.plans), f"channel-{d.drill.channel}"]
    return list(dict.fromkeys(tags))


def experiment(
    drills: list[PlannedDrill], *, name: str, run_id: str, suite: bool, url: str | None = None, source: str = ""
) -> dict[str, Any]:
    """The experiment for the planned drills (all planned with engine blade)."""
    title, description = _describe(drills, name, suite)
    method = [a for k, d in enumerate(drills) for a in drill_method(k, d, url)]
    rollbacks = [
        _blade(f"{d.name}: rollback {cause} ({uid})", ["blade", "destroy", uid])
        for k, d in enumerate(drills)
        for cause, _, uid in _faults(k, d)
    ]
    return {
        "version": "1.0.0",
        "title": title,
        "description": description,
        "tags": _tags(drills),
        "extensions": [
            {
                "name": "mqdrill",
                "run_id": run_id,
                "source": source,
                "drills": [
                    {
                        "name": d.name,
                        "run_id": d.run_id,
                        "scenario": d.drill.scenario,
                        "causes": [p.fault.cause for p in d.plans],
                        "engine_in_drill": d.drill.engine,  # the commands are blade's whatever it was
                        "notes": list(dict.fromkeys(n for p in d.plans for n in p.notes)),
                        "expected": d.drill.expected,
                        "windows_s": {
                            "baseline": d.drill.windows.baseline,
                            "fault": d.drill.windows.fault,
                            "recovery": d.drill.windows.recovery,
                        },
                    }
                    for d in drills
                ],
            }
        ],
        "configuration": {RUN_KEY: {"type": "env", "key": RUN_ENV, "default": run_word(run_id)}},
        "steady-state-hypothesis": _hypothesis(drills, url),
        "method": method,
        "rollbacks": rollbacks,
    }
