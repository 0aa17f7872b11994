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
from bridge.analysis.suite import SuiteData, read_suite


def __getattr__(name: str) -> object:
    # plots and tables load lazily: matplotlib costs ~0.4 s and only the notebooks need it.
    if name in ("plots", "tables"):
        import importlib

        return importlib.import_module(f"bridge.analysis.{name}")
    raise AttributeError(name)


__all__ = [
    "VERDICT_SCHEMA",
    "Analysis",
    "RunData",
    "SuiteData",
    "analyze",
    "analyze_data",
    "read_run",
    "read_suite",
    "write_verdict",
]
