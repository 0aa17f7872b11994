"""`mqdrill history`: how each verdict changed over time."""

from __future__ import annotations

import json

import click


@click.command()
@click.option("--app", help="Only this application (e.g. frontend).")
@click.option("--dependency", help="Only this dependency (e.g. broker).")
@click.option("--json", "as_json", is_flag=True, help="Records and changes as JSON.")
def history(app: str | None, dependency: str | None, as_json: bool) -> int:
    """Verdicts over time from runs, suites and the archive; regressions (weak → strong) stand out."""
    from bridge.analysis.history import changes, collect, label, series
    from bridge.paths import reports_dir

    root = reports_dir()
    records = collect([root / "runs", root / "suites", root / "archive"], app=app, dependency=dependency)
    found = changes(records)
    if as_json:
        click.echo(
            json.dumps({"records": [r.to_json() for r in records], "changes": [c.to_json() for c in found]}, indent=2)
        )
        return 0
    from rich.table import Table

    from bridge.cli.verdicts import console as wide_console

    table = Table("app → dependency (scenario, channel)", "verdicts, oldest first", "last run")
    for key, recs in series(records).items():
        table.add_row(label(key), " → ".join(r.strength for r in recs), recs[-1].started_at[:16])
    console = wide_console()  # piped: full names, not squeezed to 80 columns
    console.print(table)
    for c in found:
        mark = "[bold red]REGRESSION[/]" if c.regression else "change"
        console.print(
            f"{mark}: {c.app} → {c.dependency} ({c.scenario}): {c.before.strength} "
            f"({c.before.started_at[:10]}) → {c.after.strength} ({c.after.started_at[:10]})"
        )
    if not records:
        console.print(f"no verdicts yet under {root}")
    return 0
