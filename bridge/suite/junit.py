"""JUnit XML for CI: one test case per drill, failing when its verdict differs from `expected`."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from bridge.suite.suitedir import DrillOutcome


def _reasons(outcome: DrillOutcome) -> str:
    lines = []
    for v in outcome.verdicts:
        lines.append(
            f"{v.get('app')} -> {v.get('dependency')}: {v.get('strength')} (expected {v.get('expected')}), "
            f"recovered={v.get('recovered')}"
        )
        lines.extend(f"  - {r}" for r in v.get("reasons", []))
    return "\n".join(lines)


def junit_xml(suite_name: str, outcomes: list[DrillOutcome], durations: dict[str, float]) -> str:
    failures = sum(1 for o in outcomes if o.mismatch or o.status == "aborted")
    errors = sum(1 for o in outcomes if o.status in ("failed", "interrupted", "pending"))
    root = ET.Element(
        "testsuite",
        name=suite_name,
        tests=str(len(outcomes)),
        failures=str(failures),
        errors=str(errors),
        time=f"{sum(durations.values()):.3f}",
    )
    for o in outcomes:
        case = ET.SubElement(
            root, "testcase", classname=f"mqdrill.{o.scenario}", name=o.drill, time=f"{durations.get(o.key, 0.0):.3f}"
        )
        if o.status in ("failed", "interrupted", "pending"):
            err = ET.SubElement(case, "error", message=f"drill {o.status}: {o.reason or 'did not finish'}")
            err.text = o.reason or ""
        elif o.status == "aborted":
            fail = ET.SubElement(case, "failure", message=f"aborted by the guard: {o.reason}")
            fail.text = _reasons(o)
        elif o.mismatch:
            got = ", ".join(str(v.get("strength")) for v in o.verdicts)
            fail = ET.SubElement(case, "failure", message=f"verdict {got} differs from expected {o.expected}")
            fail.text = _reasons(o)
        else:
            out = ET.SubElement(case, "system-out")
            out.text = _reasons(o)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def write_junit(path: Path, suite_name: str, outcomes: list[DrillOutcome], durations: dict[str, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(suite_name, outcomes, durations))
