"""What Chaos Mesh's admission webhook checks on a Workflow beyond its CRD schema.

The CRD leaves ``templateType`` a free string and embeds every chaos spec with its ``duration``;
the webhook (chaos-mesh ``api/v1alpha1/workflow_webhook.go``, ``validateTemplate``) refuses a
missing entry, duplicate or non-DNS-1123 template names, a Suspend without ``deadline``, children
that name no template, a chaos template without its embedded spec or with a ``duration`` in it
("use Template#Deadline instead"), and fields that do not belong to the template's type.
Added here: every template reachable from the entry, no cycles, deadlines that Go can parse.
"""

from __future__ import annotations

import re
from typing import Any

CHAOS_FIELDS = {
    "PodChaos": "podChaos",
    "NetworkChaos": "networkChaos",
    "StressChaos": "stressChaos",
    "IOChaos": "ioChaos",
    "JVMChaos": "jvmChaos",
    "TimeChaos": "timeChaos",
    "DNSChaos": "dnsChaos",
    "HTTPChaos": "httpChaos",
    "KernelChaos": "kernelChaos",
    "BlockChaos": "blockChaos",
    "AWSChaos": "awsChaos",
    "GCPChaos": "gcpChaos",
    "AzureChaos": "azureChaos",
    "PhysicalMachineChaos": "physicalmachineChaos",
}
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
COMPOSITE = {"Serial", "Parallel"}


def _fields_of(template: dict[str, Any]) -> set[str]:
    return set(template) - {"name", "templateType", "deadline"}


def _allowed(kind: str) -> set[str]:
    if kind in COMPOSITE:
        return {"children"}
    if kind == "Suspend":
        return set()
    if kind == "StatusCheck":
        return {"statusCheck", "abortWithStatusCheck"}
    if kind in CHAOS_FIELDS:
        return {CHAOS_FIELDS[kind]}
    return set()


def _template_problems(t: dict[str, Any], names: set[str]) -> list[str]:
    name, kind = str(t.get("name", "")), str(t.get("templateType", ""))
    where = f"template {name!r}"
    problems: list[str] = []
    if not DNS1123_SUBDOMAIN.match(name) or len(name) > 253:
        problems.append(f"{where}: name must be a DNS-1123 subdomain")
    if kind not in COMPOSITE | {"Suspend", "StatusCheck"} and kind not in CHAOS_FIELDS:
        problems.append(f"{where}: unrecognized template type {kind!r}")
        return problems
    extra = _fields_of(t) - _allowed(kind)
    if extra:
        problems.append(f"{where}: {kind} must not contain {sorted(extra)}")
    if "deadline" in t and not GO_DURATION.match(str(t["deadline"])):
        problems.append(f"{where}: deadline {t['deadline']!r} is not a Go duration")
    if kind == "Suspend" and not t.get("deadline"):
        problems.append(f"{where}: deadline in template with type Suspend could not be empty")
    if kind in COMPOSITE:
        for child in t.get("children", []):
            if child not in names:
                problems.append(f"{where}: can not find a template with name {child}")
    if kind in CHAOS_FIELDS:
        spec = t.get(CHAOS_FIELDS[kind])
        if not isinstance(spec, dict):
            problems.append(f"{where}: missing chaos spec {kind}")
        elif "duration" in spec:
            problems.append(f"{where}: should not define duration in chaos when using Workflow")
    if kind == "StatusCheck" and not isinstance(t.get("statusCheck"), dict):
        problems.append(f"{where}: a StatusCheck template needs statusCheck")
    return problems


def _reachability(entry: str, by_name: dict[str, dict[str, Any]]) -> list[str]:
    problems: list[str] = []
    seen: set[str] = set()

    def walk(name: str, path: tuple[str, ...]) -> None:
        if name in path:
            problems.append(f"cycle through {' -> '.join((*path, name))}")
            return
        seen.add(name)
        for child in by_name.get(name, {}).get("children", []):
            walk(child, (*path, name))

    walk(entry, ())
    unreachable = sorted(set(by_name) - seen)
    if unreachable:
        problems.append(f"templates not reachable from the entry: {unreachable}")
    return problems


def workflow_problems(obj: dict[str, Any]) -> list[str]:
    """Every webhook-level problem of a Workflow object (empty when Chaos Mesh would admit it)."""
    spec = obj.get("spec", {})
    templates = spec.get("templates", [])
    by_name = {str(t.get("name")): t for t in templates}
    problems: list[str] = []
    if len(by_name) != len(templates):
        problems.append("template name must be unique")
    entry = spec.get("entry")
    if entry not in by_name:
        problems.append(f"can not find a template with name {entry} (the entry)")
        return problems
    for t in templates:
        problems += _template_problems(t, set(by_name))
    return problems + _reachability(str(entry), by_name)
