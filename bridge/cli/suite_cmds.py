"""`mqdrill suite`: batch drills with one table of verdicts and a CI-ready exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click


@click.command()
@click.argument("suite_file", type=click.Path(path_type=Path))
@click.option(
    "--engine", type=click.Choice(["chaosmesh", "chaosblade", "blade", "local"]), help="Override every drill's engine."
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 32),
    default=1,
    show_default=True,
    help="Run up to N drills at once where they do not overlap.",
)
@click.option("--production-windows", is_flag=True, help="Use each drill's own windows instead of the suite's.")
@click.option("--junit", type=click.Path(path_type=Path), help="Write JUnit XML here (one test case per drill).")
@click.option(
    "--resume",
    type=click.Path(path_type=Path, exists=True, file_okay=False),
    help="Complete an interrupted suite directory; finished drills are skipped.",
)
@click.option("--out", type=click.Path(path_type=Path), help="The suite directory (default reports/suites/<id>).")
@click.option("--no-report", is_flag=True, help="Skip the per-drill and suite reports.")
@click.option("--json", "as_json", is_flag=True, help="Quiet; print the suite result as JSON.")
def suite(
    suite_file: Path,
    engine: str | None,
    parallel: int,
    production_windows: bool,
    junit: Path | None,
    resume: Path | None,
    out: Path | None,
    no_report: bool,
    as_json: bool,
) -> int:
    """Run a suite of drills. Exit 0: every verdict as expected; 1: a verdict differs; 2: an error
    stopped drills; 3: aborted by a guard; 130: interrupted (resume with --resume)."""
    from bridge.cli.suite_progress import SuiteProgress
    from bridge.runner.wiring import build_deps, suite_report
    from bridge.suite.junit import write_junit
    from bridge.suite.runner import SuiteOptions, load_items, run_suite
    from bridge.suite.schedule import planned_s

    options = SuiteOptions(
        parallel=parallel,
        out=out,
        resume=resume,
        engine=engine,  # type: ignore[arg-type]
        production_windows=production_windows,
    )
    _, items = load_items(suite_file, options)
    planned = {i.key: planned_s(i.drill) for i in items}
    if not as_json:
        view = SuiteProgress([i.key for i in items], planned)
        options.on_progress, options.on_drill_done = view.on_progress, view.on_done
    if not no_report:
        options.after_suite = suite_report
    # Each drill writes its verdict; the reports are made together at the end, in parallel.
    result = run_suite(suite_file, options, lambda drill, progress: build_deps(drill, progress=progress, report=False))
    if junit is not None:
        write_junit(junit, result.name, result.outcomes, result.durations)
    summary: dict[str, Any] = {
        "suite_id": result.suite_id,
        "suite_dir": str(result.suite_dir),
        "exit_code": result.exit_code,
        "interrupted": result.interrupted,
        "runs": [o.to_json() for o in result.outcomes],
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        from bridge.cli.verdicts import print_suite

        print_suite(result.outcomes)
        click.echo(f"suite directory: {result.suite_dir}")
        report = result.suite_dir / "report.html"
        if report.exists():
            click.echo(f"suite report: {report}")
        if result.interrupted:
            click.echo(f"interrupted: every fault was recovered; resume with --resume {result.suite_dir}")
    return result.exit_code
