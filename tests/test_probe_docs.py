"""The drill-language guide's examples are real: they load, and the preset shown is the preset."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from bridge.probes.preset import shop_probes
from bridge.spec.loader import parse_document
from bridge.spec.models import Drill, SteadyState

DOC = Path(__file__).resolve().parents[1] / "docs" / "drill-language.md"


def blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_first_steps_drill_loads() -> None:
    (first,) = [b for b in blocks() if "name: place_order" in b and "apiVersion" in b]
    drill = parse_document(first, "docs/drill-language.md")
    assert isinstance(drill, Drill) and drill.app == "orders"
    assert [d.kind for d in drill.steady_state.probes] == ["http"]


def test_the_preset_shown_in_the_guide_is_the_preset() -> None:
    (shown,) = [b for b in blocks() if "name: cart_visible" in b]
    written = SteadyState.model_validate(yaml.safe_load(shown)["steady_state"])
    assert [d.model_dump() for d in written.probes] == [d.model_dump() for d in shop_probes()]
