"""A small, strict JSONPath subset for success criteria and captures on JSON answers.

Supported: ``$`` (the document), ``.key`` / ``['key']`` (a member), ``[n]`` (an element,
negative from the end), ``[*]`` / ``.*`` (every member or element), ``..key`` (that key at any
depth). Anything else is refused when the drill loads, with the position — no filter
expressions, no scripts: a path is data, never code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$-]*")
_STEP = re.compile(r"""\[(?:(?P<idx>-?\d+)|(?P<star>\*)|'(?P<sq>[^'\\]*)'|"(?P<dq>[^"\\]*)")\]""")

# A step: ("key", name) | ("index", n) | ("all", None) | ("deep", name)
Step = tuple[str, Any]


@dataclass(frozen=True)
class JsonPath:
    source: str
    steps: tuple[Step, ...]

    def find(self, doc: Any) -> list[Any]:
        """Every value the path selects in ``doc`` (empty when none)."""
        current = [doc]
        for kind, arg in self.steps:
            nxt: list[Any] = []
            for item in current:
                if kind == "key":
                    if isinstance(item, dict) and arg in item:
                        nxt.append(item[arg])
                elif kind == "index":
                    if isinstance(item, list) and -len(item) <= arg < len(item):
                        nxt.append(item[arg])
                elif kind == "all":
                    if isinstance(item, dict):
                        nxt.extend(item.values())
                    elif isinstance(item, list):
                        nxt.extend(item)
                else:
                    nxt.extend(_deep(item, arg))
            current = nxt
        return current


def _deep(item: Any, key: str) -> list[Any]:
    out: list[Any] = []
    stack = [item]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if key in node:
                out.append(node[key])
            stack.extend(reversed(list(node.values())))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return out


def parse(text: str) -> JsonPath:
    """Parse a path; raises ValueError naming the position of the first thing not understood."""
    if not text.startswith("$"):
        raise ValueError(f"a JSON path starts with '$', got {text!r}")
    steps: list[Step] = []
    i = 1
    while i < len(text):
        if text.startswith("..", i):
            m = _KEY.match(text, i + 2)
            if not m:
                raise ValueError(f"expected a key after '..' at position {i + 2} in {text!r}")
            steps.append(("deep", m.group()))
            i = m.end()
        elif text.startswith(".*", i):
            steps.append(("all", None))
            i += 2
        elif text[i] == ".":
            m = _KEY.match(text, i + 1)
            if not m:
                raise ValueError(f"expected a key after '.' at position {i + 1} in {text!r}")
            steps.append(("key", m.group()))
            i = m.end()
        elif (m := _STEP.match(text, i)) is not None:
            if m.group("idx") is not None:
                steps.append(("index", int(m.group("idx"))))
            elif m.group("star"):
                steps.append(("all", None))
            else:
                steps.append(("key", m.group("sq") if m.group("sq") is not None else m.group("dq")))
            i = m.end()
        else:
            raise ValueError(
                f"cannot read the JSON path {text!r} at position {i}: "
                "supported are $, .key, ['key'], [n], [*], .* and ..key"
            )
    return JsonPath(text, tuple(steps))


def as_text(value: Any) -> str:
    """A selected value as the text templates and comparisons use (JSON spelling for non-strings)."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    import json

    return json.dumps(value, separators=(",", ":"), sort_keys=True)
