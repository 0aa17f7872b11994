"""`mqdrill discover`: RocketMQ servers and clients in a cluster, and drills written for them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bridge.discover import discover_cluster, render
from bridge.discover_drills import draft_drills, write_drills
from bridge.k8s import Kube, KubeOptions
from bridge.spec.catalog import load_catalog


@click.command()
@click.option("--namespace", "-n", default=None, help="Only this namespace (default: every namespace).")
@click.option("--kubeconfig", default=None, help="Kubeconfig file (default: $KUBECONFIG or ~/.kube/config).")
@click.option("--context", default=None, help="Kubeconfig context (default: the current one).")
@click.option(
    "--engine",
    type=click.Choice(["chaosmesh", "chaosblade", "blade"]),
    default="chaosmesh",
    show_default=True,
    help="The engine the written drills use.",
)
@click.option(
    "--write-drills",
    "write_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write one drill file per client × server × scenario into this directory.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the topology (and drills) as JSON.")
def discover(
    namespace: str | None,
    kubeconfig: str | None,
    context: str | None,
    engine: str,
    write_dir: Path | None,
    as_json: bool,
) -> int:
    """Find RocketMQ name servers, brokers, proxies and the applications that use them."""
    kube = Kube.connect(KubeOptions(kubeconfig=kubeconfig, context=context, namespace=namespace))
    try:
        topology = discover_cluster(kube, namespace=namespace)
    finally:
        kube.close()
    drafts = draft_drills(topology, load_catalog(), engine=engine)
    written = write_drills(drafts, write_dir) if write_dir is not None else []
    if as_json:
        doc = topology.to_json() | {
            "drills": [d.document for d in drafts.drills],
            "written": [str(p) for p in written],
            "skipped": list(drafts.skipped),
        }
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    click.echo(render(topology))
    click.echo(
        f"Drills: {len(drafts.drills)} possible"
        + (f", written to {write_dir}" if write_dir else " (add --write-drills DIR to write them)")
    )
    for path in written:
        click.echo(f"  {path}")
    for why in drafts.skipped:
        click.echo(f"  skipped: {why}")
    return 0
