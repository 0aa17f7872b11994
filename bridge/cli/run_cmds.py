"""`mqdrill run` and `mqdrill recover`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from bridge.errors import InputError, RecoveryError


def _windows(drill: object, baseline: str | None, fault: str | None, recovery: str | None) -> object:
    from bridge.spec.models import Drill, Windows

    assert isinstance(drill, Drill)
    if not (baseline or fault or recovery):
        return drill
    current = drill.windows.model_dump()
    for key, value in (("baseline", baseline), ("fault", fault), ("recovery", recovery)):
        if value is not None:
            current[key] = value
    try:
        windows = Windows.model_validate(current)
    except ValueError as exc:
        raise InputError(f"--baseline/--fault/--recovery: {exc}") from None
    return drill.model_copy(update={"windows": windows})


@click.command()
@click.argument("file", required=False)
@click.option("--scenario", help="Run a catalog scenario against the demo shop's default targets.")
@click.option("--cause", help="The trigger cause (default: the scenario's first the engine supports).")
@click.option("--engine", type=click.Choice(["chaosmesh", "chaosblade", "blade", "local"]), help="Override the engine.")
@click.option("--baseline", help="Baseline window, e.g. 30s.")
@click.option("--fault", help="Fault window, e.g. 60s.")
@click.option("--recovery", help="Recovery window, e.g. 60s.")
@click.option("--out", type=click.Path(path_type=Path), help="The run directory itself (default reports/runs/<id>).")
@click.option("--no-report", is_flag=True, help="Skip the analysis and the HTML report after the run.")
@click.option("--kubeconfig", help="Kubeconfig for the Kubernetes engines (default: the usual lookup).")
@click.option("--context", help="Kubeconfig context.")
@click.option("--json", "as_json", is_flag=True, help="Quiet; print the result as JSON.")
def run(
    file: str | None,
    scenario: str | None,
    cause: str | None,
    engine: str | None,
    baseline: str | None,
    fault: str | None,
    recovery: str | None,
    out: Path | None,
    no_report: bool,
    kubeconfig: str | None,
    context: str | None,
    as_json: bool,
) -> int:
    """Run one drill: preflight, baseline, fault, recovery, collect, then analyse and report."""
    from bridge import drills
    from bridge.cli.progress import LineProgress
    from bridge.runner.lifecycle import run_drill
    from bridge.runner.wiring import build_deps

    drill, source = drills.drill_from_args(file, scenario, cause, engine)
    drill = _windows(drill, baseline, fault, recovery)  # type: ignore[assignment]
    drills.check_drill(drill, source)
    progress = None if as_json else LineProgress(drill.display_name)
    deps = build_deps(drill, progress=progress, report=not no_report, kubeconfig=kubeconfig, context=context)
    try:
        result = run_drill(drill, deps, out=out, source=source)
    finally:
        if progress is not None:
            progress.close()
    summary: dict[str, Any] = {
        "run_id": result.run_id,
        "run_dir": str(result.run_dir),
        "status": result.status,
        "reason": result.reason,
        "recovery_errors": result.recovery_errors,
    }
    verdict = result.run_dir / "verdict.json"
    if verdict.exists():
        summary["verdict"] = json.loads(verdict.read_text())
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(f"run {result.run_id}: {result.status}" + (f" ({result.reason})" if result.reason else ""))
        click.echo(f"run directory: {result.run_dir}")
        verdicts = summary.get("verdict", {}).get("verdicts", [])
        if verdicts:
            from bridge.cli.verdicts import print_run

            print_run(verdicts, _run_meta(result.run_dir))
        if (result.run_dir / "report.html").exists():
            click.echo(f"report: {result.run_dir / 'report.html'}")
    if result.recovery_errors:
        raise RecoveryError("leftover faults: " + "; ".join(result.recovery_errors) + " — run `mqdrill recover --all`")
    if result.interrupted is not None:
        return 130
    return 0 if result.status == "completed" else (3 if result.status == "aborted" else 2)


def _run_meta(run_dir: Path) -> dict[str, Any]:
    try:
        meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


# `mqdrill recover` runs after something went wrong: often the control plane itself, whose
# controllers re-list before they release a finalizer (Chaos Mesh v2.8.3 took 20-60 s after an
# API server restart on a loaded machine), so it waits longer than a drill's own recovery.
RECOVER_WAIT_S = 120.0


@click.command()
@click.argument("run_dir", required=False)
@click.option("--all", "all_", is_flag=True, help="Every leftover in the ledger, and labelled objects in the cluster.")
@click.option("--kubernetes/--no-kubernetes", default=False, help="Also sweep the cluster by the managed-by label.")
@click.option("--kubeconfig", help="Kubeconfig for the Kubernetes engines (default: the usual lookup).")
@click.option("--context", help="Kubeconfig context.")
@click.option(
    "--force-clean",
    is_flag=True,
    help="Remove finalizers an experiment is stuck on (Chaos Mesh's "
    "documented cleanFinalizer annotation; ChaosBlade finalizers). Only when the operator cannot.",
)
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(1, 3600),
    default=RECOVER_WAIT_S,
    show_default=True,
    help="Seconds each Kubernetes leftover may take to be confirmed gone (a controller that just got "
    "its API server back re-lists before it acts).",
)
@click.option("--json", "as_json", is_flag=True)
def recover(
    run_dir: str | None,
    all_: bool,
    kubernetes: bool,
    kubeconfig: str | None,
    context: str | None,
    force_clean: bool,
    wait_s: float,
    as_json: bool,
) -> int:
    """End every leftover fault of a run (or all of them) and report what was found."""
    from bridge.paths import ledger_dir
    from bridge.runner.ledger import Ledger
    from bridge.runner.recover import recover_leftovers, run_id_of
    from bridge.runner.wiring import engine_cache

    if (run_dir is None) == (not all_):
        raise InputError("give a RUN directory (or run id) or --all")
    run_id = run_id_of(run_dir) if run_dir is not None else None
    # blade's own records are always swept (our UIDs only; nothing to do where no blade is installed)
    sweep = (("chaosmesh", "chaosblade") if kubernetes else ()) + ("blade",)
    engines = engine_cache(kubeconfig=kubeconfig, context=context, force_clean=force_clean, recover_wait_s=wait_s)
    report = recover_leftovers(Ledger(ledger_dir()), engines, run_id=run_id, sweep_engines=sweep)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(f"found {len(report.found)} leftover fault(s)")
        for x in report.recovered:
            click.echo(f"recovered  {x}")
        for x in report.failed:
            click.echo(f"FAILED     {x}", err=True)
    return 0 if not report.failed else RecoveryError.exit_code
