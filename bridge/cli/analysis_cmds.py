"""``mqdrill analyze RUN [--json]``: write verdict.json for a run directory."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bridge.errors import InputError


@click.command("analyze")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print verdict.json on stdout.")
@click.option(
    "--archive-root",
    type=click.Path(path_type=Path),
    default=None,
    help="Archive root (default $MQDRILL_ARCHIVE or reports/archive).",
)
def analyze(run: Path, as_json: bool, archive_root: Path | None) -> int:
    """Decide strong/weak/inconclusive for RUN and write RUN/verdict.json."""
    from bridge.analysis import write_verdict
    from bridge.archive import auto_archive, ensure_writable

    auto_archive(archive_at=archive_root)
    ensure_writable(run, archive_root)
    if not run.is_dir():
        raise InputError(f"{run}: no such run directory")
    doc = write_verdict(run)
    if as_json:
        click.echo(json.dumps(doc, indent=2, allow_nan=False, default=str))
    else:
        for v in doc["verdicts"]:
            rec = {True: "recovered", False: "did not recover", None: "recovery not judged"}[v["recovered"]]
            click.echo(f"{v['app']} -> {v['dependency']}: {v['strength']} ({rec})")
            for reason in v["reasons"]:
                click.echo(f"  - {reason}")
        click.echo(f"wrote {run / 'verdict.json'}")
    return 0
