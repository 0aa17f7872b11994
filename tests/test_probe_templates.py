"""Templates and JSON paths: the two little languages inside probe declarations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.probes import jsonpath, template

NAMES = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,10}", fullmatch=True)
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)


def escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


@given(st.lists(st.tuples(TEXT, NAMES), max_size=5), TEXT, st.dictionaries(NAMES, TEXT))
def test_rendering_puts_each_value_between_the_literal_text(
    pieces: list[tuple[str, str]], tail: str, extra: dict[str, str]
) -> None:
    source = "".join(escape(lit) + "{" + name + "}" for lit, name in pieces) + escape(tail)
    values = {**extra, **{name: f"<{name}>" for _, name in pieces}}
    t = template.parse(source)
    assert t.names == {name for _, name in pieces}
    assert t.render(values) == "".join(lit + f"<{name}>" for lit, name in pieces) + tail


@given(TEXT)
def test_any_text_with_braces_doubled_is_a_constant_template(text: str) -> None:
    t = template.parse(escape(text))
    assert t.constant and t.render({}) == text


@pytest.mark.parametrize("bad", ["{", "}", "a{b", "{1x}", "{a b}", "{}", "x}y"])
def test_malformed_placeholders_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="placeholder|stray"):
        template.parse(bad)


DOC = {"id": 7, "items": [{"product_id": "A", "q": 1}, {"product_id": "B", "meta": {"product_id": "C"}}], "ok": True}


@pytest.mark.parametrize(
    ("path", "found"),
    [
        ("$", [DOC]),
        ("$.id", [7]),
        ("$.items[0].product_id", ["A"]),
        ("$.items[-1]['product_id']", ["B"]),
        ("$.items[*].q", [1]),
        ("$..product_id", ["A", "B", "C"]),
        ("$.ok", [True]),
        ("$.missing", []),
        ("$.items[5]", []),
        ("$.id.x", []),
    ],
)
def test_paths_select_what_they_say(path: str, found: list[object]) -> None:
    assert jsonpath.parse(path).find(DOC) == found


@pytest.mark.parametrize("bad", ["id", "$.", "$..", "$[?(@.x)]", "$.a[", "$['a", "$.a b", "$[1:2]"])
def test_unsupported_paths_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        jsonpath.parse(bad)


@given(st.lists(st.one_of(NAMES.map(lambda k: ("k", k)), st.integers(0, 3).map(lambda i: ("i", i))), max_size=6))
def test_a_path_finds_the_value_nested_where_it_points(steps: list[tuple[str, object]]) -> None:
    doc: object = "leaf"
    for kind, arg in reversed(steps):
        doc = {str(arg): doc} if kind == "k" else [None] * int(arg) + [doc]  # type: ignore[operator]
    text = "$" + "".join(f".{arg}" if kind == "k" else f"[{arg}]" for kind, arg in steps)
    assert jsonpath.parse(text).find(doc) == ["leaf"]


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
VALID = {
    "kind": "http",
    "name": "p",
    "base_url": "http://127.0.0.1:1",
    "operations": [{"name": "a", "url": "/x/{seq}", "capture": {"v": {"json_path": "$.id"}}}],
}
FOLLOW = {"kind": "eventually", "name": "b", "after": "a", "check": {"url": "/y/{v}"}}
SPOTS = [
    ("probe", "kind"),
    ("probe", "name"),
    ("probe", "base_url"),
    ("probe", "rate"),
    ("probe", "values"),
    ("op", "url"),
    ("op", "json"),
    ("op", "form"),
    ("op", "headers"),
    ("op", "expect"),
    ("op", "capture"),
    ("follow", "after"),
    ("follow", "within"),
    ("follow", "check"),
    ("follow", "poll"),
]


@settings(deadline=None, max_examples=300)  # the first example pays for imports
@given(st.sampled_from(SPOTS), JSONISH)
def test_any_value_anywhere_in_a_declaration_is_loaded_or_refused_never_a_traceback(
    spot: tuple[str, str], value: object
) -> None:
    import copy

    from bridge.errors import DrillFileError
    from bridge.spec.loader import parse_document

    probe, follow = copy.deepcopy(VALID), copy.deepcopy(FOLLOW)
    target = {"probe": probe, "op": probe["operations"][0], "follow": follow}[spot[0]]  # type: ignore[index]
    target[spot[1]] = value
    doc = {"apiVersion": "mqdrill/v1", "kind": "Drill", "scenario": "x", "steady_state": {"probes": [probe, follow]}}
    import json

    try:
        parse_document(json.dumps(doc, allow_nan=True), "fuzz.yaml")
    except DrillFileError as exc:
        assert exc.file == "fuzz.yaml" and str(exc)
