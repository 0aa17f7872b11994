"""``mqdrill compare RUN_A RUN_B [--json]``: two runs of one drill side by side (before/after a protection)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bridge.errors import InputError

if TYPE_CHECKING:
    from bridge.analysis.runcompare import RunComparison


@click.command("compare")
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="The comparison as JSON.")
def compare(before: Path, after: Path, as_json: bool) -> int:
    """Put two runs of the same drill side by side: verdicts, fault-window figures, and the tests
    of the change. Exit 0 for a fix or no change, 1 for a regression."""
    from bridge.analysis.runcompare import STEP_REGRESSION, compare_runs

    for run in (before, after):
        if not (run / "run.json").is_file():
            raise InputError(f"{run}: not a run directory (no run.json)")
    result = compare_runs(before, after)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2, allow_nan=False, default=str))
    else:
        _print(result)
    return 1 if result.step == STEP_REGRESSION else 0


def _print(result: RunComparison) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=None if Console().is_terminal else 200)
    console.print(result.sentence())
    table = Table("", f"before: {result.before.run_id}", f"after: {result.after.run_id}", "change (test, p)")
    table.add_row("verdict", result.before.strength, result.after.strength, result.step)
    table.add_row("recovered", str(result.before.recovered), str(result.after.recovered), "")
    table.add_row("protection", result.before.protection, result.after.protection, "")
    for op, t in result.tests.items():
        b, a = result.before.fault.get(op, {}), result.after.fault.get(op, {})
        table.add_row(
            f"{op}: success in fault",
            _pct(b.get("success_ratio")),
            _pct(a.get("success_ratio")),
            f"{'better' if t['success']['significant'] else 'no significant change'} (p={t['success']['p_value']})",
        )
        table.add_row(
            f"{op}: p95 in fault",
            _ms(b.get("latency_p95_ms")),
            _ms(a.get("latency_p95_ms")),
            f"{'faster' if t['latency']['significant'] else 'no significant change'} (p={t['latency']['p_value']})",
        )
    console.print(table)
    for note in result.notes:
        console.print(f"note: {note}")


def _pct(x: object) -> str:
    return f"{float(x) * 100:.1f} %" if isinstance(x, int | float) else "–"


def _ms(x: object) -> str:
    return f"{float(x):.0f} ms" if isinstance(x, int | float) else "–"
