"""Probe kinds by name: THE one place a kind is registered.

To add a kind, write ``bridge/probes/kinds/<kind>.py`` as :mod:`bridge.probes.contract` describes
(a declaration model, a ``build`` function, ``KIND = KindSpec(...)``) and add its module path to
:data:`BUILTIN_KINDS`. The drill models build ``steady_state.probes`` from :func:`declaration_union`
when they are imported, so every kind is in the schema, in ``validate`` and in ``plan`` at once.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Annotated, Any, Union

from pydantic import Field

from bridge.errors import InputError
from bridge.probes.contract import KindSpec

BUILTIN_KINDS: tuple[str, ...] = (
    "bridge.probes.kinds.http",
    "bridge.probes.kinds.eventually",
    "bridge.probes.kinds.rocketmq_canary",
    "bridge.probes.kinds.prometheus",
)


@cache
def kinds() -> dict[str, KindSpec]:
    """Every registered kind by name (modules imported on first use)."""
    out: dict[str, KindSpec] = {}
    for module_name in BUILTIN_KINDS:
        spec = importlib.import_module(module_name).KIND
        if not isinstance(spec, KindSpec):
            raise TypeError(f"{module_name}.KIND is not a KindSpec")
        out[spec.name] = spec
    return out


def get_kind(name: str) -> KindSpec:
    known = kinds()
    if name not in known:
        raise InputError(f"unknown probe kind {name!r}; known: {', '.join(sorted(known))}")
    return known[name]


def declaration_union() -> Any:
    """The type of one ``steady_state.probes`` entry: the declarations, told apart by ``kind``."""
    models = tuple(spec.declaration for spec in kinds().values())
    if len(models) == 1:
        return models[0]
    return Annotated[Union[models], Field(discriminator="kind")]  # noqa: UP007 - built at runtime
