"""Loading drill and suite files safely, with errors that name the file, the line and the field.

Hostile input is bounded before it can cost time or memory: the file size is capped, YAML
aliases are counted as if expanded (an alias bomb is refused), nesting depth is capped,
duplicate keys are refused instead of silently overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from bridge.errors import DrillFileError
from bridge.probes.contract import ProbeFieldError
from bridge.probes.registry import kinds as probe_kinds
from bridge.spec import models
from bridge.spec.models import API_VERSION, Drill, Suite

# What each constrained string means, in words, for error messages.
PATTERN_WORDS = {
    models.DNS_LABEL: "a Kubernetes name: lowercase letters, digits and '-', at most 63",
    models.DNS_SUBDOMAIN: "a Kubernetes object name: lowercase letters, digits, '-' and '.'",
    models.LABEL_KEY: "a Kubernetes label key such as 'app' or 'app.kubernetes.io/name'",
    models.LABEL_VALUE: "a Kubernetes label value: letters, digits, '-', '_' and '.', at most 63",
    models.SLUG: "a name: lowercase letters, digits and '-'",
    models.JAVA_CLASS: "a Java class name such as 'java.lang.RuntimeException'",
    models.IFACE: "a network interface name such as 'eth0'",
    models.HTTP_URL: "an http(s) URL such as 'http://127.0.0.1:8080' or 'https://shop.example/api'",
    models.IDENT: "a name: a letter, then letters, digits, '_' or '-', at most 63",
}

MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 32
MAX_EXPANDED_NODES = 50_000

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_text(path: str | Path) -> str:
    """The file's text, refusing what is not a readable, reasonably small UTF-8 file."""
    p = Path(path)
    if not p.exists():
        raise DrillFileError(str(path), "no such file")
    if p.is_dir():
        raise DrillFileError(str(path), "is a directory; give a drill or suite file (.yaml)")
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise DrillFileError(str(path), f"file is {size / 1048576:.1f} MiB; drill files are limited to 1 MiB")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DrillFileError(str(path), f"not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise DrillFileError(str(path), f"cannot read: {exc.strerror}") from exc


def compose(text: str, file: str) -> yaml.Node:
    """Parse to a YAML node graph (no objects built yet), with line numbers kept."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise DrillFileError(file, "document larger than 1 MiB")
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except RecursionError as exc:
        raise DrillFileError(file, f"nesting deeper than {MAX_DEPTH} levels") from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise DrillFileError(file, f"not valid YAML: {exc.problem or exc.context}", line=line) from exc
    except yaml.YAMLError as exc:
        raise DrillFileError(file, f"not valid YAML: {exc}") from exc
    if not nodes or nodes[0] is None:
        raise DrillFileError(file, "empty document; a drill starts with `apiVersion: mqdrill/v1` and `kind: Drill`")
    if len(nodes) > 1:
        raise DrillFileError(file, "several YAML documents in one file; put one drill or suite per file")
    root = nodes[0]
    _check_shape(root, file)
    return root


def _check_shape(root: yaml.Node, file: str) -> None:
    """Refuse alias bombs, absurd nesting and duplicate keys before building any object."""
    sizes: dict[int, int] = {}

    def expanded(node: yaml.Node, depth: int) -> int:
        if depth > MAX_DEPTH:
            raise DrillFileError(file, f"nesting deeper than {MAX_DEPTH} levels", line=node.start_mark.line + 1)
        if id(node) in sizes:
            return sizes[id(node)]
        total = 1
        children: Iterable[yaml.Node] = ()
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key, _ in node.value:
                if isinstance(key, yaml.ScalarNode):
                    if key.value in seen:
                        raise DrillFileError(file, "duplicate key", line=key.start_mark.line + 1, field=key.value)
                    seen.add(key.value)
            children = [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            children = node.value
        for child in children:
            total += expanded(child, depth + 1)
            if total > MAX_EXPANDED_NODES:
                raise DrillFileError(
                    file, "document too large once aliases are expanded (an alias bomb?)", line=node.start_mark.line + 1
                )
        sizes[id(node)] = total
        return total

    expanded(root, 0)


def _construct(root: yaml.Node, file: str) -> Any:
    loader = _Loader("")
    try:
        return loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise DrillFileError(file, f"not valid YAML: {exc}") from exc
    finally:
        loader.dispose()


def line_of(root: yaml.Node, loc: tuple[int | str, ...]) -> int | None:
    """The line of the node at a pydantic error location, or of its nearest existing parent."""
    node = root
    line = node.start_mark.line + 1
    for part in loc:
        nxt: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    nxt = value
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            nxt = node.value[part]
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def _field_path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _validation_error(exc: ValidationError, root: yaml.Node, file: str) -> DrillFileError:
    errors = exc.errors(include_url=False)
    first = errors[0]
    loc = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    # A probe kind's declaration is one union member named by its `kind`: drop that tag from the path.
    loc = tuple(p for p in loc if not (isinstance(p, str) and p in probe_kinds()))
    msg = first["msg"].removeprefix("Value error, ")
    cause = (first.get("ctx") or {}).get("error")
    if isinstance(cause, ProbeFieldError):
        loc, msg = (*loc, *cause.loc), cause.message
    elif first["type"] == "union_tag_invalid":
        tag = (first.get("ctx") or {}).get("tag")
        loc, msg = (*loc, "kind"), f"unknown probe kind {tag!r}; known: {', '.join(sorted(probe_kinds()))}"
    elif first["type"] == "union_tag_not_found":
        loc, msg = (*loc, "kind"), f"a probe needs a `kind`; known: {', '.join(sorted(probe_kinds()))}"
    elif first["type"] == "string_pattern_mismatch":
        pattern = str((first.get("ctx") or {}).get("pattern", ""))
        allowed = PATTERN_WORDS.get(pattern, f"text matching {pattern}")
        msg = f"{_short(first.get('input'))} is not allowed here; expected {allowed}"
    elif first["type"] == "extra_forbidden":
        msg = "unknown key (not part of the drill language; see `mqdrill schema`)"
    elif first["type"] == "literal_error":
        msg = f"{msg}, got {_short(first.get('input'))}"
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return DrillFileError(file, msg + more, line=line_of(root, loc), field=_field_path(loc) or None)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_document(text: str, file: str) -> Drill | Suite:
    """A drill or a suite from YAML text; ``file`` names it in errors."""
    root = compose(text, file)
    data = _construct(root, file)
    if not isinstance(data, dict):
        kind = type(data).__name__ if data is not None else "nothing"
        raise DrillFileError(file, f"expected a mapping with `apiVersion` and `kind`, got {kind}", line=1)
    if data.get("apiVersion") != API_VERSION:
        raise DrillFileError(
            file,
            f"`apiVersion` must be {API_VERSION!r}, got {_short(data.get('apiVersion'))}",
            line=line_of(root, ("apiVersion",)),
            field="apiVersion",
        )
    model: type[BaseModel]
    if data.get("kind") == "Drill":
        model = Drill
    elif data.get("kind") == "Suite":
        model = Suite
    else:
        raise DrillFileError(
            file,
            f"`kind` must be 'Drill' or 'Suite', got {_short(data.get('kind'))}",
            line=line_of(root, ("kind",)),
            field="kind",
        )
    try:
        doc = model.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc, root, file) from None
    assert isinstance(doc, Drill | Suite)
    return doc


def load_document(path: str | Path) -> Drill | Suite:
    """Load and validate one drill or suite file."""
    return parse_document(read_text(path), str(path))


def load_drill(path: str | Path) -> Drill:
    doc = load_document(path)
    if not isinstance(doc, Drill):
        raise DrillFileError(str(path), "is a Suite; this command takes a Drill", field="kind")
    return doc


def suite_drills(suite: Suite, suite_file: str | Path) -> list[tuple[str, Drill]]:
    """The suite's drills, each with its source (file or `suite[i]`), suite-level overrides applied."""
    base = Path(suite_file).parent
    out: list[tuple[str, Drill]] = []
    for i, entry in enumerate(suite.drills):
        if entry.file is not None:
            source = str(base / entry.file)
            drill = load_drill(source)
        else:
            assert entry.drill is not None
            source, drill = f"{suite_file} drills[{i}]", entry.drill
        overrides: dict[str, object] = {}
        if suite.engine is not None:
            overrides["engine"] = suite.engine
        if suite.windows is not None:
            overrides["windows"] = suite.windows
        out.append((source, drill.model_copy(update=overrides) if overrides else drill))
    return out
