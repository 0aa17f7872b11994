"""Engines by name (papermill's registry pattern): built-ins are imported only when first used,
so `mqdrill plan` never pays for the Kubernetes client."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from bridge.engines.base import Engine
from bridge.errors import InputError

EngineFactory = Callable[..., Engine]

_BUILTIN: dict[str, str] = {
    "local": "bridge.engines.local:LocalEngine",
    "chaosmesh": "bridge.engines.chaosmesh:ChaosMeshEngine",
    "chaosblade": "bridge.engines.chaosblade:ChaosBladeEngine",
    "blade": "bridge.engines.blade:BladeEngine",
}
_registered: dict[str, EngineFactory] = {}


def register(name: str, factory: EngineFactory) -> None:
    """Add or replace an engine (tests register fakes; plugins their own engines)."""
    _registered[name] = factory


def get_engine(name: str, **options: Any) -> Engine:
    """An engine instance by name; options go to its constructor (kubeconfig, context, blade path…)."""
    if name in _registered:
        return _registered[name](**options)
    if name not in _BUILTIN:
        raise InputError(f"unknown engine {name!r}; known: {', '.join(sorted({*_BUILTIN, *_registered}))}")
    module_name, attr = _BUILTIN[name].split(":")
    factory: EngineFactory = getattr(importlib.import_module(module_name), attr)
    return factory(**options)
