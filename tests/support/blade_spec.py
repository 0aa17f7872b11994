"""Check `blade` argv lists against the vendored ChaosBlade spec.

Targets, actions, matchers and flags come from ``chaosblade.spec-cloud.yaml`` (upstream data);
the flags every `blade create` takes and the `k8s` command's own flags come from
``CHAOSBLADE_ROCKETMQ_FLAGS.md`` sections 2 and 3.1 (v1.8.0 sources). Used by the plan tests and
by the stand-in `blade` executable of the engine tests.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import yaml

from tests.support.vendor import CHAOSBLADE

GLOBAL_FLAGS = {"uid": False, "async": True, "endpoint": False, "nohup": True, "timeout": False}
K8S_FLAGS = {"kubeconfig": False, "waiting-time": False, "kubectl-proxy": False, "token": False}


@dataclass
class ActionSpec:
    names: set[str] = field(default_factory=set)
    bools: set[str] = field(default_factory=set)
    required: set[str] = field(default_factory=set)


@functools.cache
def load_spec() -> dict[tuple[str, str, str], ActionSpec]:
    """(scope, target, action or alias) -> what the action accepts."""
    raw = yaml.load(
        (CHAOSBLADE / "chaosblade.spec-cloud.yaml").read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    )
    out: dict[tuple[str, str, str], ActionSpec] = {}
    for item in raw["items"]:
        scope = item.get("scope") or "host"
        for action in item["actions"]:
            spec = ActionSpec()
            for f in (action.get("matchers") or []) + (action.get("flags") or []):
                if not f.get("name"):
                    continue  # pod-pod fail declares one empty flag upstream
                spec.names.add(f["name"])
                if f.get("noArgs"):
                    spec.bools.add(f["name"])
                if f.get("required"):
                    spec.required.add(f["name"])
            for name in [action["action"], *(action.get("aliases") or [])]:
                out[(scope, item["target"], name)] = spec
    return out


def check_argv(argv: list[str] | tuple[str, ...]) -> list[str]:
    """Problems with one `blade create` argv (empty when it matches the spec)."""
    words = list(argv)
    if len(words) < 4 or words[1] not in ("create", "c"):
        return [f"not a `blade create` command: {words[:3]}"]
    if words[2] == "k8s":
        if len(words) < 5 or "-" not in words[3]:
            return [f"`blade create k8s` needs <scope>-<target> <action>: {words[2:5]}"]
        scope, target = words[3].split("-", 1)
        action, rest, extra = words[4], words[5:], {**GLOBAL_FLAGS, **K8S_FLAGS}
    else:
        scope, target, action, rest, extra = "host", words[2], words[3], words[4:], dict(GLOBAL_FLAGS)
    spec = load_spec().get((scope, target, action))
    if spec is None:
        return [f"unknown experiment: scope {scope!r}, target {target!r}, action {action!r}"]
    problems: list[str] = []
    seen: set[str] = set()
    i = 0
    while i < len(rest):
        word = rest[i]
        if not word.startswith("--"):
            problems.append(f"unexpected argument {word!r}")
            i += 1
            continue
        name, _, inline = word[2:].partition("=")
        seen.add(name)
        is_bool = name in spec.bools or extra.get(name, False)
        if name not in spec.names and name not in extra:
            problems.append(f"unknown flag --{name} for {scope}-{target} {action}")
        if is_bool:
            i += 1
            continue
        if inline:
            i += 1
            continue
        if i + 1 >= len(rest) or rest[i + 1].startswith("--"):
            problems.append(f"flag --{name} needs a value")
            i += 1
            continue
        i += 2
    for name in sorted(spec.required - seen):
        problems.append(f"required flag --{name} missing for {scope}-{target} {action}")
    return problems
