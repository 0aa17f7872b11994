"""The verdict tables of ``mqdrill run`` and ``mqdrill suite``, readable wherever stdout goes.

On a terminal rich fits the table to the window, folding long cells instead of cutting them.
Anywhere else (a CI log, ``| tee``, a file) there is no window to fit: rich would assume 80
columns and squeeze names into ``bro…``, so the console is made wide enough for the table's
natural width and every name is printed in full, one row a line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from bridge.analysis.headline import drill_headline, tally
from bridge.analysis.wording import yes_no

WIDE = 4096  # wider than any verdict table; rich renders at the table's natural width, never padding to this


def console(file: TextIO | None = None) -> Console:
    """A console for tables: the terminal's width on a terminal, the table's own width elsewhere."""
    found = Console(file=file)
    return found if found.is_terminal else Console(file=file, width=WIDE)


def _table(*columns: str) -> Table:
    table = Table()
    for name in columns:
        table.add_column(name, overflow="fold")
    return table


def _dependency(v: Mapping[str, Any], channel: str = "") -> str:
    return f"{v.get('app', '-')} → {v.get('dependency', '-')}" + (f" ({channel})" if channel else "")


def _match(v: Mapping[str, Any]) -> str:
    m = v.get("matches_expected")
    return "yes" if m else ("NO" if m is False else "-")


def print_run(verdicts: list[Mapping[str, Any]], meta: Mapping[str, Any], file: TextIO | None = None) -> None:
    """One drill's verdicts as a table, then each in one sentence with its key figures."""
    out = console(file)
    table = _table("app → dependency", "verdict", "expected", "recovered", "as expected")
    for v in verdicts:
        recovered = yes_no(v.get("recovered")).replace("–", "not judged")
        table.add_row(
            _dependency(v, str(meta.get("channel") or "")),
            str(v.get("strength", "-")),
            str(v.get("expected", "-")),
            recovered,
            _match(v),
        )
    out.print(table)
    for v in verdicts:
        out.print(drill_headline(v, meta).sentence, soft_wrap=True, highlight=False, markup=False)


def print_suite(outcomes: list[Any], file: TextIO | None = None) -> None:
    """A suite's verdicts, one row per drill and verdict; then how many matched, and why the others did not."""
    out = console(file)
    table = _table("drill", "scenario", "status", "app → dependency", "verdict", "expected", "recovered", "as expected")
    items = []
    for o in outcomes:
        meta = {"scenario": o.scenario, "expected": o.expected}
        for v in o.verdicts or [{"reasons": [o.reason or f"the drill ended {o.status}"]}]:
            table.add_row(
                o.key,
                o.scenario,
                o.status,
                _dependency(v) if o.verdicts else "-",
                str(v.get("strength", "-")),
                o.expected,
                yes_no(v.get("recovered")).replace("–", "-"),
                _match(v),
            )
            items.append((o.key, v, meta))
    out.print(table)
    summary = tally(items)
    out.print(summary.sentence, soft_wrap=True, highlight=False, markup=False)
    for key, h in summary.others:
        out.print(f"  {key}: {h.sentence}", soft_wrap=True, highlight=False, markup=False)
