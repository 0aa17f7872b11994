"""Property tests: whatever document or text is thrown at the loader, it either returns a valid
drill/suite or raises DrillFileError naming the file — never anything else."""

from __future__ import annotations

import math
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.errors import DrillFileError
from bridge.spec.loader import parse_document
from bridge.spec.models import Drill, Suite
from bridge.spec.units import format_duration, parse_duration_ms, parse_duration_s

KEYS = [
    "apiVersion",
    "kind",
    "scenario",
    "causes",
    "cause",
    "engine",
    "targets",
    "windows",
    "steady_state",
    "slo",
    "probe",
    "fault",
    "namespace",
    "labels",
    "mode",
    "value",
    "drills",
    "file",
    "params",
    "safety",
    "x",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["mqdrill/v1", "Drill", "Suite", "broker-unavailable", "local", "30s", "-1s", "kube-system"]),
)
documents = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), children, max_size=6),
    ),
    max_leaves=40,
)


def _check(text: str) -> None:
    try:
        doc = parse_document(text, "gen.yaml")
    except DrillFileError as exc:
        assert str(exc).startswith("gen.yaml")
        assert exc.line is None or exc.line >= 1
    else:
        assert isinstance(doc, Drill | Suite)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(documents)
def test_generated_documents_load_or_fail_cleanly(doc: Any) -> None:
    _check(yaml.safe_dump(doc))


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), documents, max_size=6))
def test_generated_drill_heads_load_or_fail_cleanly(body: dict[str, Any]) -> None:
    _check(yaml.safe_dump({"apiVersion": "mqdrill/v1", "kind": "Drill", **body}))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_loads_or_fails_cleanly(text: str) -> None:
    _check(text)


@given(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59), st.integers(0, 999))
def test_durations_parse_to_the_sum_of_their_parts(h: int, m: int, s: int, ms: int) -> None:
    text = "".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (s, "s"), (ms, "ms")) if v) or "0s"
    assert parse_duration_ms(text) == ((h * 60 + m) * 60 + s) * 1000 + ms


@given(st.floats(0, 86400, allow_nan=False))
def test_formatted_durations_parse_back(seconds: float) -> None:
    assert math.isclose(parse_duration_s(format_duration(seconds)), round(seconds * 1000) / 1000, abs_tol=1e-9)
