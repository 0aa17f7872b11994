"""`mqdrill discover`: RocketMQ servers and clients in a cluster, and drills written for them."""

from __future__ import annotations

import json
from pathlib import Path

import click

from bridge.discovery import discover_cluster, draft_drills, render, write_drills
from bridge.discovery.files import Written
from bridge.k8s import Kube, KubeOptions
from bridge.spec.catalog import load_catalog


@click.command()
@click.option(
    "--namespace", "-n", "namespaces", multiple=True, help="Only these namespaces (repeatable; default: every one)."
)
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
    help="Write one drill file per client × server × scenario (files you edited are kept, never overwritten).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the topology (and drills) as JSON.")
def discover(
    namespaces: tuple[str, ...],
    kubeconfig: str | None,
    context: str | None,
    engine: str,
    write_dir: Path | None,
    as_json: bool,
) -> int:
    """Find RocketMQ name servers, brokers, proxies, admin tools and the applications that use them."""
    first = namespaces[0] if namespaces else None
    kube = Kube.connect(KubeOptions(kubeconfig=kubeconfig, context=context, namespace=first))
    try:
        topology = discover_cluster(kube, namespaces=list(namespaces) or None)
    finally:
        kube.close()
    drafts = draft_drills(topology, load_catalog(), engine=engine)
    result = write_drills(drafts, write_dir) if write_dir is not None else Written((), (), ())
    if as_json:
        doc = topology.to_json() | {
            "drills": [{"file": d.file_name, "your_part": list(d.user_parts), **d.document} for d in drafts.drills],
            "written": [str(p) for p in result.written],
            "unchanged": [str(p) for p in result.unchanged],
            "kept": [str(p) for p in result.kept],
            "skipped": list(drafts.skipped),
        }
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    click.echo(render(topology))
    click.echo(
        f"Drills: {len(drafts.drills)} possible"
        + (f", written to {write_dir}" if write_dir else " (add --write-drills DIR to write them)")
    )
    for path in result.written:
        click.echo(f"  {path}")
    for path in result.unchanged:
        click.echo(f"  unchanged: {path}")
    for path in result.kept:
        click.echo(f"  kept, not overwritten (edited since mqdrill wrote it): {path}")
    for why in drafts.skipped:
        click.echo(f"  skipped: {why}")
    return 0
