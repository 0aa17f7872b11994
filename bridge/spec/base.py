"""The drill language's building blocks, shared by the drill models and every probe kind's declaration.

They live apart from :mod:`bridge.spec.models` so a probe kind's module can declare its model
with them while :mod:`bridge.spec.models` imports the kinds (through the probe registry) to
build the steady-state schema: no import cycle.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from bridge.spec.units import parse_duration_s

# Kubernetes name rules (DNS-1123); label keys may carry a DNS-subdomain prefix.
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
LABEL_KEY = r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
LABEL_VALUE = r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"
SLUG = r"^[a-z0-9]([-a-z0-9]{0,62})$"
JAVA_CLASS = r"^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z_$][A-Za-z0-9_$]*){0,30}$"
IFACE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$"
# A user-chosen identifier (operation, captured value, application, service): safe on any command
# line, in a file name, a label value and a CSV cell; starts with a letter.
IDENT = r"^[A-Za-z][A-Za-z0-9_-]{0,62}$"
# An absolute http(s) URL without spaces or quotes (templated parts are checked separately).
HTTP_URL = r"^https?://[A-Za-z0-9.\-\[\]:]+(/[^\s\"'<>\\^`|]*)?$"

# A duration: a number of seconds or text like "30s", "5m", "250ms" (validators parse and bound it).
Duration = Annotated[
    float,
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$"},
            ],
            "description": "seconds, or text like '30s', '5m', '1h30m', '250ms'",
        }
    ),
]
Name = Annotated[str, Field(pattern=SLUG, max_length=63)]
Ident = Annotated[str, Field(pattern=IDENT, max_length=63)]


class Strict(BaseModel):
    """Base of every model: unknown keys are refused, values are not coerced across types."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def seconds(value: Any, *, minimum: float, field_name: str) -> float:
    """A duration in seconds, at least ``minimum``; raises ValueError naming ``field_name``."""
    parsed = parse_duration_s(value)
    if parsed < minimum:
        raise ValueError(f"{field_name} must be at least {minimum:g}s, got {value!r}")
    return parsed
