"""The steady-state probe: open-loop requests against the demo shop, rows to ``probe.csv``.

Use :class:`ProbeRunner` from the runner's main thread (``start`` / ``stats`` / ``stop``) and
:func:`steady_state_check` for the preflight; build the settings with
:meth:`ProbeConfig.from_drill`.
"""

from bridge.probes.config import ProbeConfig
from bridge.probes.openloop import Outcome
from bridge.probes.rows import HEADER, ProbeRow, read_rows
from bridge.probes.runner import ProbeRunner, SteadyStateCheck, judge, preflight_duration_s, steady_state_check
from bridge.probes.stats import OpStats, ProbeStats

__all__ = [
    "HEADER",
    "OpStats",
    "Outcome",
    "ProbeConfig",
    "ProbeRow",
    "ProbeRunner",
    "ProbeStats",
    "SteadyStateCheck",
    "judge",
    "preflight_duration_s",
    "read_rows",
    "steady_state_check",
]
