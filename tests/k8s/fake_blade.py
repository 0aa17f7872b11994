"""A stand-in for the ``blade`` executable: checks argv against the vendored ChaosBlade spec and
answers in blade's JSON envelope. State (experiments, calls) lives in ``$FAKE_BLADE_STATE``.

``$FAKE_BLADE_MODE`` (comma-separated) makes it misbehave the way blade does in the field:
``create-fails`` (code 602, success false, exit 1), ``create-hangs`` (never answers),
``status-error`` (the experiment failed in the target), ``status-created`` (never confirmed),
``destroy-fails`` (code 500, every time), ``garbage`` (no JSON at all).

Argv rules come from chaosblade.spec-cloud.yaml (scopes host, pod, container, node) plus what
CHAOSBLADE_ROCKETMQ_FLAGS.md lists as newer than that file or global to `blade create`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

VENDOR = Path(__file__).resolve().parents[3] / "shared" / "vendor" / "chaosblade"
GLOBAL_FLAGS = {
    "uid": False,
    "async": True,
    "a": True,
    "endpoint": False,
    "e": False,
    "nohup": True,
    "n": True,
    "timeout": False,
}
K8S_FLAGS = {"kubeconfig": False, "waiting-time": False, "kubectl-proxy": False, "token": False}
# Newer than the 2022 spec (CHAOSBLADE_ROCKETMQ_FLAGS.md section 6), by (target, action).
NEWER = {
    ("process", "kill"): {"pid": False},
    ("process", "stop"): {
        "pid": False,
        "count": False,
        "local-port": False,
        "signal": False,
        "exclude-process": False,
    },
    ("network", "delay"): {"protocol": False},
    ("network", "loss"): {"protocol": False},
    ("cpu", "fullload"): {"cgroup-root": False, "cpu-index": False},
}


def answer(code: int, success: bool, *, result: Any = None, error: str = "", rc: int = 0) -> None:
    body: dict[str, Any] = {"code": code, "success": success}
    body["result" if success else "error"] = result if success else error
    # as blade 1.8.0 does: success on stdout, a failure it found on stderr
    print(json.dumps(body), file=sys.stdout if success else sys.stderr)
    sys.exit(rc)


def load_state(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {"experiments": {}, "calls": []}


def find_action(scope: str, target: str, action: str) -> dict[str, Any] | None:
    source = VENDOR / "chaosblade.spec-cloud.yaml"
    # The spec is 1 MB of YAML: parse it once per content, keep a JSON copy in the temp dir.
    cache = Path(tempfile.gettempdir()) / f"mqdrill-fake-blade-spec-{source.stat().st_size}.json"
    if cache.exists():
        spec = json.loads(cache.read_text())
    else:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        spec = yaml.load(source.read_text(), Loader=loader)  # noqa: S506 - a safe loader
        tmp = cache.with_suffix(f".{os.getpid()}")
        tmp.write_text(json.dumps(spec))
        tmp.replace(cache)
    for item in spec["items"]:
        if item.get("scope", "host") == scope and item["target"] == target:
            for act in item["actions"]:
                if act["action"] == action or action in (act.get("aliases") or []):
                    return dict(act)
    return None


def parse_flags(args: list[str], known: dict[str, bool]) -> dict[str, str]:
    flags: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            sys.stderr.write(f'Error: unknown command "{arg}"\n')
            sys.exit(1)
        name, eq, value = arg[2:].partition("=")
        if name not in known:
            sys.stderr.write(f"Error: unknown flag: --{name}\n")
            sys.exit(1)
        if known[name]:  # noArgs
            flags[name] = "true"
        elif eq:
            flags[name] = value
        else:
            if i + 1 >= len(args):
                sys.stderr.write(f"Error: flag needs an argument: --{name}\n")
                sys.exit(1)
            i += 1
            flags[name] = args[i]
        i += 1
    return flags


def create(args: list[str], state: dict[str, Any], modes: set[str]) -> None:
    if args[:1] == ["k8s"]:
        scope, _, target = args[1].partition("-") if len(args) > 1 else ("", "", "")
        action, rest, extra = (args[2] if len(args) > 2 else ""), args[3:], K8S_FLAGS
    else:
        scope, target = "host", args[0] if args else ""
        action, rest, extra = (args[1] if len(args) > 1 else ""), args[2:], {}
    spec = find_action(scope, target, action)
    if spec is None:
        sys.stderr.write(f"Error: unknown command {target} {action} for scope {scope}\n")
        sys.exit(1)
    options = spec.get("matchers", []) + spec.get("flags", [])
    known = {o["name"]: bool(o.get("noArgs")) for o in options if o.get("name")}
    known |= GLOBAL_FLAGS | extra | NEWER.get((target, spec["action"]), {})
    flags = parse_flags(rest, known)
    missing = [o["name"] for o in options if o.get("required") and o["name"] not in flags]
    if missing:
        answer(602, False, error=f"less necessary flag: --{missing[0]}", rc=1)
    if scope != "host" and "kubeconfig" not in flags:
        answer(602, False, error="kubeconfig is required for k8s experiments", rc=1)
    if "create-hangs" in modes:
        time.sleep(60)
    if "create-fails" in modes:
        answer(602, False, error=f"exec failed: cannot find process {flags.get('process', '')}", rc=1)
    uid = flags.get("uid") or uuid.uuid4().hex[:16]
    state["experiments"][uid] = {
        "Uid": uid,
        "Command": target,
        "SubCommand": spec["action"],
        "Flag": " ".join(rest),
        "Status": "Success",
        "Scope": scope,
    }
    save(state)
    answer(200, True, result=uid)


def save(state: dict[str, Any]) -> None:
    Path(os.environ["FAKE_BLADE_STATE"]).write_text(json.dumps(state))


def main(argv: list[str]) -> None:
    state = load_state(Path(os.environ["FAKE_BLADE_STATE"]))
    modes = set(filter(None, os.environ.get("FAKE_BLADE_MODE", "").split(",")))
    state["calls"].append(argv)
    save(state)
    if "garbage" in modes:
        print("panic: runtime error")
        sys.exit(2)
    cmd, args = (argv[0] if argv else ""), argv[1:]
    if cmd in ("create", "c"):
        create(args, state, modes)
    if cmd == "status":
        flags = parse_flags(args, {"uid": False, "type": False, "target": False, "action": False})
        exp = state["experiments"].get(flags.get("uid", ""))
        if exp is None:
            answer(406, False, error=f"data not found: {flags.get('uid')}", rc=1)
        record = dict(exp)
        if "status-error" in modes:
            record |= {"Status": "Error", "Error": "process BrokerStartup not found in container broker"}
        if "status-created" in modes:
            record["Status"] = "Created"
        answer(200, True, result=record)
    if cmd in ("destroy", "d"):
        if len(args) != 1:
            answer(602, False, error="less uid argument", rc=1)
        if "destroy-fails" in modes:
            answer(500, False, error="exec destroy failed: tc: command not found", rc=1)
        exp = state["experiments"].get(args[0])
        if exp is None:
            answer(406, False, error=f"the {args[0]} uid experiment not found", rc=1)
        exp["Status"] = "Destroyed"
        save(state)
        answer(200, True, result={"target": exp["Command"], "action": exp["SubCommand"]})
    if cmd == "version":
        answer(200, True, result={"version": "1.8.0"})
    sys.stderr.write(f'Error: unknown command "{cmd}" for "blade"\n')
    sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
