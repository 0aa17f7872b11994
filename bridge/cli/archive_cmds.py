"""``mqdrill archive``: freeze a run or suite, list, verify, and auto-archive old ones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from bridge.errors import ArchiveError, InputError

ACTIONS = ("list", "verify", "auto")


@click.command("archive")
@click.argument("target", required=True)
@click.argument("entry", required=False)
@click.option("--conclusion", help="The team's conclusion (required to archive).")
@click.option("--verified", type=click.Choice(["yes", "no"]), help="Whether the conclusion was verified.")
@click.option(
    "--archive-root",
    type=click.Path(path_type=Path),
    default=None,
    help="Archive root (default $MQDRILL_ARCHIVE or reports/archive).",
)
@click.option("--days", type=float, default=None, help="auto: age in days (default 30 or $MQDRILL_AUTO_ARCHIVE_DAYS).")
def archive(
    target: str,
    entry: str | None,
    conclusion: str | None,
    verified: str | None,
    archive_root: Path | None,
    days: float | None,
) -> int:
    """Archive RUN|SUITE (--conclusion TEXT --verified yes|no), or: list | verify [ENTRY] | auto."""
    from bridge import archive as arc

    if target == "list":
        for e in arc.load_index(archive_root)["entries"]:
            when = datetime.fromtimestamp(float(e["archived_at"]), tz=UTC).strftime("%Y-%m-%d")
            click.echo(
                f"{e['id']}\t{e['kind']}\t{e.get('strength') or '-'}\t{when}\t"
                f"{'verified' if e.get('verified') else 'unverified'}\t{e['conclusion']}"
            )
        return 0
    if target == "verify":
        results = arc.verify(entry, archive_root)
        bad = {k: c for k, c in results.items() if not c.ok}
        for k, c in results.items():
            click.echo(f"{k}: {'ok' if c.ok else 'CHANGED: ' + c.describe()}")
        if bad:
            raise ArchiveError(f"{len(bad)} archive entr{'y' if len(bad) == 1 else 'ies'} changed: {', '.join(bad)}")
        return 0
    if target == "auto":
        for e in arc.auto_archive(archive_at=archive_root, days=days):
            click.echo(f"auto-archived {e['id']}")
        return 0
    if entry is not None:
        raise InputError(f"unexpected argument {entry!r}; archive takes one RUN or SUITE directory")
    if conclusion is None or verified is None:
        raise InputError("archiving needs --conclusion TEXT and --verified yes|no")
    record = arc.archive(Path(target), conclusion=conclusion, verified=verified == "yes", root=archive_root)
    click.echo(f"archived {target} as {record['id']} under {arc.archive_root(archive_root)}")
    return 0
