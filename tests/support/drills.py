"""Building drills in tests."""

from __future__ import annotations

from typing import Any

import yaml

from bridge.spec.models import Drill


def drill(**fields: Any) -> Drill:
    """A drill from keyword fields, defaults as in a three-line file."""
    data: dict[str, Any] = {"apiVersion": "mqdrill/v1", "kind": "Drill", "scenario": "broker-unavailable", **fields}
    return Drill.model_validate(data)


def drill_yaml(**fields: Any) -> str:
    data: dict[str, Any] = {"apiVersion": "mqdrill/v1", "kind": "Drill", "scenario": "broker-unavailable", **fields}
    return yaml.safe_dump(data, sort_keys=False)
