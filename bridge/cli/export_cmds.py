"""`mqdrill export`: a drill or suite in Chaos Mesh, ChaosBlade or Chaos Toolkit's own format."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click

from bridge.errors import InputError


def _write(path: str, text: str) -> None:
    """Write atomically: a reader never sees half a manifest."""
    target = Path(path)
    if target.is_dir():
        raise InputError(f"--out {path}: is a directory; give a file name")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, target)
    except OSError as exc:
        raise InputError(f"--out {path}: cannot write: {exc.strerror}") from exc


@click.command()
@click.argument("source", metavar="(FILE | SUITE)")
@click.option(
    "--to",
    "fmt",
    required=True,
    type=click.Choice(["chaos-mesh-workflow", "chaosblade", "chaostoolkit"]),
    help="The format: a Chaos Mesh Workflow, ChaosBlade resources, or a Chaos Toolkit experiment.",
)
@click.option("--out", help="Write to this file instead of stdout.")
@click.option("--kubeconfig", help="Path written into blade argv (chaostoolkit; default ~/.kube/config).")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of YAML (several objects become a List).")
@click.option("--run-id", help="The run id in labels and names (default: a fresh one).")
@click.option("--steady-state-url", help="Check this URL instead of <frontend_url>/healthz (and the cart view).")
@click.option("--parallel", is_flag=True, help="Workflow only: run drills on disjoint components side by side.")
def export(
    source: str,
    fmt: str,
    out: str | None,
    kubeconfig: str | None,
    as_json: bool,
    run_id: str | None,
    steady_state_url: str | None,
    parallel: bool,
) -> int:
    """Export a drill or suite so a team can run it without mqdrill (nothing is applied)."""
    from bridge.export import export as do_export

    result = do_export(
        source, fmt, run_id=run_id, kubeconfig=kubeconfig, steady_state_url=steady_state_url, parallel=parallel
    )
    text = result.render(as_json=as_json)
    for note in result.notes:
        click.echo(f"mqdrill: note: {note}", err=True)
    if out is None:
        click.echo(text, nl=False)
    else:
        _write(out, text)
        click.echo(f"mqdrill: wrote {out} ({len(result.documents)} document(s), {fmt})", err=True)
    return 0
