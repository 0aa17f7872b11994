"""Validate Kubernetes objects against a CRD's openAPIV3Schema as `kubectl apply --validate=strict`
would: read as JSON Schema Draft 4, unknown fields rejected (unless the schema preserves them),
int-or-string honoured, metadata checked against the ObjectMeta fields we may set.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from tests.support.vendor import CHAOS_MESH, CHAOSBLADE

OBJECT_META = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", "maxLength": 253},
        "namespace": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"},
        "generateName": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string", "maxLength": 63}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "finalizers": {"type": "array", "items": {"type": "string"}},
    },
}


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if out.get("nullable"):
        out.pop("nullable")
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


@functools.cache
def crd_validator(path: str) -> jsonschema.Draft4Validator:
    crd = yaml.safe_load(Path(path).read_text())
    version = crd["spec"]["versions"][0]
    schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    props = schema.setdefault("properties", {})
    props["apiVersion"] = {"enum": [f"{group}/{version['name']}"]}
    props["kind"] = {"enum": [kind]}
    meta = copy.deepcopy(OBJECT_META)
    if crd["spec"]["scope"] == "Cluster":
        meta["properties"].pop("namespace")
    else:
        meta["required"] = ["name", "namespace"]
    props["metadata"] = meta
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata", "spec"})
    schema["additionalProperties"] = False
    return jsonschema.Draft4Validator(schema)


CHAOS_MESH_FILES = {
    "PodChaos": "chaos-mesh.org_podchaos.yaml",
    "NetworkChaos": "chaos-mesh.org_networkchaos.yaml",
    "StressChaos": "chaos-mesh.org_stresschaos.yaml",
    "IOChaos": "chaos-mesh.org_iochaos.yaml",
    "JVMChaos": "chaos-mesh.org_jvmchaos.yaml",
    "TimeChaos": "chaos-mesh.org_timechaos.yaml",
    "DNSChaos": "chaos-mesh.org_dnschaos.yaml",
    "HTTPChaos": "chaos-mesh.org_httpchaos.yaml",
    "Schedule": "chaos-mesh.org_schedules.yaml",
    "Workflow": "chaos-mesh.org_workflows.yaml",
}


def validator_for(obj: dict[str, Any]) -> jsonschema.Draft4Validator:
    kind = obj.get("kind")
    if kind == "ChaosBlade":
        return crd_validator(str(CHAOSBLADE / "chaosblade-operator-crd.yaml"))
    if kind not in CHAOS_MESH_FILES:
        raise AssertionError(f"no vendored CRD for kind {kind!r}")
    return crd_validator(str(CHAOS_MESH / CHAOS_MESH_FILES[str(kind)]))


def schema_errors(obj: dict[str, Any]) -> list[str]:
    """Every schema violation of ``obj``, as `path: message` lines (empty when valid)."""
    errors = validator_for(obj).iter_errors(obj)
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}" for e in errors]
