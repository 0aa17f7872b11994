"""Steady-state probes: kinds behind one contract (:mod:`bridge.probes.contract`), looked up in
:mod:`bridge.probes.registry`, run open-loop in one background loop by :class:`ProbeRunner`.

Names are imported lazily: :mod:`bridge.spec.models` imports the registry (to build the
steady-state schema from every kind's declaration), and the runner side imports the models.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "HEADER": "bridge.probes.rows",
    "ProbeRow": "bridge.probes.rows",
    "read_rows": "bridge.probes.rows",
    "OpStats": "bridge.probes.stats",
    "ProbeStats": "bridge.probes.stats",
    "Outcome": "bridge.probes.openloop",
    "ProbeConfig": "bridge.probes.config",
    "ProbeRunner": "bridge.probes.runner",
    "SteadyStateCheck": "bridge.probes.runner",
    "judge": "bridge.probes.runner",
    "preflight_duration_s": "bridge.probes.runner",
    "steady_state_check": "bridge.probes.runner",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'bridge.probes' has no attribute {name!r}")
