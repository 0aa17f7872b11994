"""`mqdrill catalog | schema | validate | plan`: the drill language and plans, no side effects."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from bridge import drills
from bridge.errors import InputError

if TYPE_CHECKING:
    from bridge.k8s import Kube
from bridge.spec.catalog import load_catalog


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON list of scenario/cause entries.")
def catalog(as_json: bool) -> int:
    """List every scenario × trigger cause with its engines and predicted impact."""
    entries = load_catalog().entries()
    if as_json:
        _echo_json(entries)
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table("scenario", "cause", "engines", "predicted impact", show_lines=True)
    for e in entries:
        table.add_row(str(e["scenario"]), str(e["cause"]), ", ".join(e["engines"]), str(e["predicted_impact"]))  # type: ignore[arg-type]
    Console().print(table)
    return 0


@click.command()
def schema() -> int:
    """Print the JSON Schema of drill and suite files (for editor completion)."""
    _echo_json(drills.json_schema())
    return 0


def _connect(kubeconfig: str | None, context: str | None = None) -> Kube:
    from bridge.k8s import Kube, KubeOptions  # only with --cluster: the kubernetes client is slow to import

    return Kube.connect(KubeOptions(kubeconfig=kubeconfig, context=context))


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file: file, ok, kind, error.")
@click.option("--cluster", is_flag=True, help="Also check each target's selector against the cluster's pods.")
@click.option("--kubeconfig", help="With --cluster: the kubeconfig (default $KUBECONFIG or ~/.kube/config).")
@click.option("--context", help="With --cluster: the kubeconfig context.")
def validate(files: tuple[str, ...], as_json: bool, cluster: bool, kubeconfig: str | None, context: str | None) -> int:
    """Check drill, suite and catalog files: syntax, fields, catalog, engines and safety guards."""
    kube = _connect(kubeconfig, context) if cluster else None
    try:
        results = [drills.validate_file(f, kube) for f in files]
    finally:
        if kube is not None:
            kube.close()
    if as_json:
        _echo_json([r.to_json() for r in results])
    else:
        for r in results:
            if r.ok:
                click.echo(f"ok       {r.file} ({r.kind})")
            else:
                click.echo(f"invalid  {r.error}", err=True)
    return 0 if all(r.ok for r in results) else InputError.exit_code


@click.command()
@click.argument("file", required=False)
@click.option("--scenario", help="Plan a catalog scenario with the demo shop's default targets.")
@click.option("--cause", help="The trigger cause (default: the scenario's first that the engine supports).")
@click.option("--engine", type=click.Choice(["chaosmesh", "chaosblade", "blade", "local"]), help="Override the engine.")
@click.option("--kubeconfig", help="Path written into blade argv (default ~/.kube/config).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document with every plan.")
@click.option("--cluster", is_flag=True, help="First check the targets' selectors against the cluster's pods.")
def plan(
    file: str | None,
    scenario: str | None,
    cause: str | None,
    engine: str | None,
    kubeconfig: str | None,
    as_json: bool,
    cluster: bool,
) -> int:
    """Print exactly what a drill would apply (objects, blade argv, local actions), touching nothing."""
    drill, source = drills.drill_from_args(file, scenario, cause, engine)
    if cluster:
        kube = _connect(kubeconfig)
        try:
            drills.check_on_cluster(drill, source, kube)
        finally:
            kube.close()
    doc = drills.plan_document(drill, source=source, kubeconfig=kubeconfig)
    if as_json:
        _echo_json(doc)
    else:
        click.echo(drills.render_plan_text(doc))
    return 0
