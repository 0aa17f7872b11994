"""Templated values in probe declarations: ``"probe-{run_id}-{seq}"``, ``"/orders/{order_id}"``.

``{name}`` is replaced by a value; ``{{`` and ``}}`` are literal braces. Templates are parsed
once, when the drill loads (so an unknown name or a stray brace is refused with its field), and
rendered per request from precomputed parts (cheap at thousands of requests a second).

Values every flow has (:data:`FLOW_VALUES`): ``seq`` (0, 1, 2, … per probe), ``uuid`` (unique
per flow), ``token`` (random per probe run), ``run_id``, ``time`` and ``time_ms`` (the flow's
intended send time, Unix seconds / milliseconds). A probe adds its own ``values`` (constants),
its setup captures and, step by step, the values each operation captures.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

FLOW_VALUES: frozenset[str] = frozenset({"seq", "uuid", "token", "run_id", "time", "time_ms"})
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")


@dataclass(frozen=True)
class Template:
    """A parsed template: literal text and value names, alternating (``parts[1::2]`` are names)."""

    source: str
    parts: tuple[str, ...]

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.parts[1::2])

    @property
    def constant(self) -> bool:
        return len(self.parts) == 1

    def render(self, values: Mapping[str, str], encode: Callable[[str], str] | None = None) -> str:
        """The text with every name replaced (``encode`` applied to each value, e.g. URL quoting)."""
        if len(self.parts) == 1:
            return self.parts[0]
        out = list(self.parts)
        for i in range(1, len(out), 2):
            value = values[out[i]]
            out[i] = encode(value) if encode is not None else value
        return "".join(out)


def parse(text: str) -> Template:
    """Parse ``text``; raises ValueError saying what is wrong and where."""
    parts: list[str] = []
    literal: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in "{}" and text[i + 1 : i + 2] == c:
            literal.append(c)
            i += 2
            continue
        if c == "}":
            raise ValueError(f"stray '}}' at position {i} in {text!r}; write '}}}}' for a literal brace")
        if c == "{":
            end = text.find("}", i)
            name = text[i + 1 : end] if end >= 0 else ""
            if end < 0 or not _NAME.fullmatch(name):
                raise ValueError(
                    f"bad placeholder at position {i} in {text!r}: expected {{name}} with a name of letters, "
                    "digits, '_' or '-' (write '{{' for a literal brace)"
                )
            parts += ["".join(literal), name]
            literal = []
            i = end + 1
            continue
        literal.append(c)
        i += 1
    parts.append("".join(literal))
    return Template(text, tuple(parts))


def unknown_names(template: Template, known: frozenset[str]) -> list[str]:
    return sorted(template.names - known)
