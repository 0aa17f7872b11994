"""``mqdrill env up | status [--json] | down``: the embedded environment on this machine."""

from __future__ import annotations

import json
from dataclasses import replace

import click

from bridge.env import default_config, down, status, up
from bridge.env.userapp import load_app
from bridge.errors import EnvironmentError_


def _print_status(info: dict[str, object]) -> None:
    services = info["services"]
    assert isinstance(services, dict)
    for name, part in services.items():
        mark = "up" if part["running"] and part["listening"] else ("paused" if part["state"] == "T" else "down")
        pid = part["pid"] or "-"
        click.echo(f"  {name:<12} {mark:<7} pid {pid!s:<8} port {part['port']:<6} rss {part['rss_mib']} MiB")
    urls = info["urls"]
    assert isinstance(urls, dict)
    for name, url in urls.items():
        click.echo(f"  {name:<15} {url}")
    click.echo(f"  store           {info['store']}")
    click.echo(f"  state           {info['state_dir']}")
    if info.get("active_faults"):
        click.echo(f"  active faults   {', '.join(info['active_faults'])}")  # type: ignore[arg-type]


@click.group("env")
def env() -> None:
    """The embedded environment on loopback: RocketMQ 5, Redis, Toxiproxy, the demo apps, Prometheus."""


@env.command("up")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Default: $MQDRILL_STATE or .state/env.",
)
@click.option(
    "--app",
    "app_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="A YAML file naming one more application to start (argv list, port, health path); or $MQDRILL_APP.",
)
def env_up(state_dir: str | None, app_file: str | None) -> int:
    """Start everything not yet running and wait until a message goes through."""
    cfg = default_config(state_dir)
    if app_file is not None:
        cfg = replace(cfg, user_app=load_app(app_file))
    info = up(cfg, say=lambda line: click.echo(line, err=True))
    _print_status(info)
    return 0


@env.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--state-dir", type=click.Path(file_okay=False), default=None)
def env_status(as_json: bool, state_dir: str | None) -> int:
    """Show what runs; exit 1 when something is down."""
    info = status(default_config(state_dir))
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        click.echo("healthy" if info["healthy"] else "NOT healthy")
        _print_status(info)
    return 0 if info["healthy"] else 1


@env.command("down")
@click.option("--state-dir", type=click.Path(file_okay=False), default=None)
def env_down(state_dir: str | None) -> int:
    """Take back faults, stop every process, unmount the store."""
    left = down(default_config(state_dir), say=lambda line: click.echo(line, err=True))
    if left:
        raise EnvironmentError_(f"still running after down: {', '.join(left)}")
    click.echo("environment stopped")
    return 0
