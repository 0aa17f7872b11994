"""The ``mqdrill`` command line: parses arguments, calls one library function, maps errors to exit codes.

Subcommands live in their own modules and are imported only when run (``LazyGroup``), so
``mqdrill --help`` stays fast. To add one, add a line to ``COMMANDS``.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from bridge.errors import MqdrillError

# name -> (module:attribute, one-line help shown by `mqdrill --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "catalog": ("bridge.cli.spec_cmds:catalog", "List scenarios, trigger causes, engines and predicted impact."),
    "schema": ("bridge.cli.spec_cmds:schema", "Print the JSON Schema of drill and suite files."),
    "validate": ("bridge.cli.spec_cmds:validate", "Check drill and suite files."),
    "plan": ("bridge.cli.spec_cmds:plan", "Print exactly what a drill would apply, touching nothing."),
    "env": ("bridge.cli.env_cmds:env", "Start, show or stop the embedded environment and demo shop."),
    "discover": ("bridge.cli.k8s_cmds:discover", "Find RocketMQ servers and their clients in a cluster; write drills."),
    "run": ("bridge.cli.run_cmds:run", "Run one drill: baseline, fault, recovery, evidence, verdict."),
    "suite": ("bridge.cli.suite_cmds:suite", "Run a suite of drills; one verdict table, CI-ready exit code."),
    "history": ("bridge.cli.history_cmds:history", "How each verdict changed over time; regressions stand out."),
    "recover": ("bridge.cli.run_cmds:recover", "End every leftover fault (from the ledger and by label)."),
    "export": ("bridge.cli.export_cmds:export", "Write drills for Chaos Mesh, ChaosBlade or Chaos Toolkit."),
    "analyze": ("bridge.cli.analysis_cmds:analyze", "Judge a run: strong/weak/inconclusive."),
    "compare": ("bridge.cli.compare_cmds:compare", "Two runs of one drill side by side: did a protection help?"),
    "report": ("bridge.cli.report_cmds:report", "Write report.html for a run or suite."),
    "archive": ("bridge.cli.archive_cmds:archive", "Archive a run or suite; list, verify."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        target, _ = COMMANDS[cmd_name]
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mqdrill")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """mqdrill: rehearse RocketMQ failures and learn whether each application depends on
    the message middleware strongly or weakly."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: every MqdrillError becomes one line on stderr and its exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        result = cli.main(args=argv, prog_name="mqdrill", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except MqdrillError as exc:
        if debug:
            raise
        click.echo(f"mqdrill: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if isinstance(result, int):
        sys.exit(result)
    return result
