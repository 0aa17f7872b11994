"""``mqdrill report RUN|SUITE``: report.ipynb and report.html in the directory."""

from __future__ import annotations

import time
from pathlib import Path

import click


@click.command("report")
@click.argument("target", type=click.Path(path_type=Path))
@click.option("--workers", type=int, default=None, help="Parallel drill reports for a suite (default: cores).")
@click.option(
    "--archive-root",
    type=click.Path(path_type=Path),
    default=None,
    help="Archive root (default $MQDRILL_ARCHIVE or reports/archive).",
)
def report(target: Path, workers: int | None, archive_root: Path | None) -> int:
    """Execute the report notebook for a run or suite and render report.html."""
    from bridge.archive import auto_archive, ensure_writable
    from bridge.report import report as make

    start = time.perf_counter()
    auto_archive(archive_at=archive_root)
    ensure_writable(target, archive_root)
    for r in make(target, workers):
        click.echo(f"wrote {r.html}")
    click.echo(f"done in {time.perf_counter() - start:.1f} s")
    return 0
