"""Analysis of run directories: windows, per-window figures, fault-vs-baseline tests, the verdict.

Reads only the run-directory contract (DESIGN.md); imports nothing from engines, runner or
Kubernetes, so anyone can re-analyse a run on a laptop. Public surface:

- :func:`analyze` / :func:`analyze_data` -> :class:`Analysis` (``.verdict()`` is verdict.json)
- :func:`write_verdict` writes ``verdict.json``
- :func:`read_run` reads a run directory tolerantly
- :func:`timeline` per-second series for plots; :func:`read_suite` for suite directories
"""

from bridge.analysis.analyze import VERDICT_SCHEMA, Analysis, analyze, analyze_data, write_verdict
from bridge.analysis.rundir import RunData, read_run

__all__ = ["VERDICT_SCHEMA", "Analysis", "RunData", "analyze", "analyze_data", "read_run", "write_verdict"]
