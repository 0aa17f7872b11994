"""``mqdrill analyze RUN|SUITE [--json]``: write verdict.json for a run directory (or each run of a suite)."""

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
    """Decide strong/weak/inconclusive for RUN and write RUN/verdict.json (for a SUITE: each run)."""
    from bridge.analysis import write_verdict
    from bridge.archive import auto_archive, ensure_writable

    auto_archive(archive_at=archive_root)
    ensure_writable(run, archive_root)
    if not run.is_dir():
        raise InputError(f"{run}: no such run directory")
    runs = _suite_runs(run) if (run / "suite.json").is_file() else [run]
    docs = [write_verdict(r) for r in runs]
    if as_json:
        out = docs[0] if len(docs) == 1 and runs[0] == run else {str(r): d for r, d in zip(runs, docs, strict=True)}
        click.echo(json.dumps(out, indent=2, allow_nan=False, default=str))
        return 0
    for r, doc in zip(runs, docs, strict=True):
        for v in doc["verdicts"]:
            rec = {True: "recovered", False: "did not recover", None: "recovery not judged"}[v["recovered"]]
            click.echo(f"{v['app']} -> {v['dependency']}: {v['strength']} ({rec})")
            for reason in v["reasons"]:
                click.echo(f"  - {reason}")
        click.echo(f"wrote {r / 'verdict.json'}")
    return 0


def _suite_runs(suite: Path) -> list[Path]:
    """The run directories a suite.json lists (those that exist)."""
    try:
        meta = json.loads((suite / "suite.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{suite / 'suite.json'} cannot be read: {exc}") from exc
    entries = meta.get("runs") if isinstance(meta, dict) else None
    return [
        suite / str(e["run_dir"])
        for e in entries or []
        if isinstance(e, dict) and "run_dir" in e and (suite / str(e["run_dir"])).is_dir()
    ]
