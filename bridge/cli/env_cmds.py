"""``mqdrill env up | status [--json] | repair | down``: the embedded environment on this machine."""

from __future__ import annotations

import json
from dataclasses import replace

import click

from bridge.env import default_config, down, status, up
from bridge.env.lifecycle import unhealthy_reasons
from bridge.env.repair import repair
from bridge.env.userapp import load_app
from bridge.errors import EnvironmentError_


def _print_status(info: dict[str, object]) -> None:
    services = info["services"]
    assert isinstance(services, dict)
    for name, part in services.items():
        mark = "up" if part["running"] and part["listening"] else ("paused" if part["state"] == "T" else "down")
        pid = part["pid"] or "-"
        click.echo(f"  {name:<12} {mark:<7} pid {pid!s:<8} port {part['port']:<6} rss {part['rss_mib']} MiB")
    business = info.get("business")
    if isinstance(business, dict):
        for name, check in business["checks"].items():
            mark = "ok" if check["ok"] else check["state"]
            extra = f" in {check['seconds']}s" if check.get("seconds") is not None else ""
            click.echo(f"  {name:<12} {mark:<9}{extra}" + (f" {check['error']}" if check["error"] else ""))
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
    "--brokers",
    type=click.IntRange(1, 2),
    default=None,
    help="Broker groups on the name server (2: broker-a and broker-b; default $MQDRILL_BROKER_GROUPS or 1).",
)
@click.option(
    "--app",
    "app_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="A YAML file naming one more application to start (argv list, port, health path); or $MQDRILL_APP.",
)
def env_up(state_dir: str | None, brokers: int | None, app_file: str | None) -> int:
    """Start everything not yet running and wait until a message goes through."""
    cfg = default_config(state_dir)
    if brokers is not None and brokers != cfg.broker_groups:
        if any(p["running"] for p in status(cfg)["services"].values()):
            raise EnvironmentError_(
                f"the environment runs with {cfg.broker_groups} broker group(s); `mqdrill env down` first"
            )
        cfg = replace(cfg, broker_groups=brokers)
    if app_file is not None:
        cfg = replace(cfg, user_app=load_app(app_file))
    info = up(cfg, say=lambda line: click.echo(line, err=True))
    _print_status(info)
    return 0


@env.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--round-trip/--no-round-trip",
    default=True,
    help="Send one message through the shop and wait (up to 15 s) for it in the cart (default: on).",
)
@click.option("--state-dir", type=click.Path(file_okay=False), default=None)
def env_status(as_json: bool, round_trip: bool, state_dir: str | None) -> int:
    """Show what runs and whether the business path works; exit 1 when something is down or broken."""
    info = status(default_config(state_dir), round_trip=round_trip)
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        click.echo("healthy" if info["healthy"] else f"NOT healthy: {unhealthy_reasons(info)}")
        _print_status(info)
    return 0 if info["healthy"] else 1


@env.command("repair")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.option("--state-dir", type=click.Path(file_okay=False), default=None)
def env_repair(as_json: bool, state_dir: str | None) -> int:
    """Restart what stayed broken (cheapest first) until a message goes through; say what was done."""
    report = repair(default_config(state_dir), say=lambda line: click.echo(line, err=True))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for action in report.actions or ["nothing to do"]:
            click.echo(f"  {action}")
        click.echo(("healthy: " if report.healthy else "STILL broken: ") + report.detail)
    return 0 if report.healthy else 1


@env.command("down")
@click.option("--state-dir", type=click.Path(file_okay=False), default=None)
def env_down(state_dir: str | None) -> int:
    """Take back faults, stop every process, unmount the store."""
    left = down(default_config(state_dir), say=lambda line: click.echo(line, err=True))
    if left:
        raise EnvironmentError_(f"still running after down: {', '.join(left)}")
    click.echo("environment stopped")
    return 0


@env.command("protect")
@click.argument("names", nargs=-1)
@click.option("--state-dir", type=click.Path(file_okay=False), default=None)
def env_protect(names: tuple[str, ...], state_dir: str | None) -> int:
    """Switch the demo applications' protections (catalog names, e.g. fallback-direct async-outbox;
    `none` for none): the shop's frontend and the orders app's orders and fulfillment restart with
    them (the orders app takes all but async-outbox). Without NAMES, show what is on."""
    from bridge.env.protect import SHOP_PROTECTIONS, set_protections

    cfg = default_config(state_dir)
    if names:
        cfg = set_protections(cfg, names, say=lambda line: click.echo(line, err=True))
    click.echo(f"protections on: {', '.join(cfg.protections) or 'none'} (available: {', '.join(SHOP_PROTECTIONS)})")
    return 0
