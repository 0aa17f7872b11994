"""Play kube-controller-manager for discovery tests: turn Deployments and StatefulSets into the
ReplicaSets and Pods a real cluster would hold, and load them into the emulator.

Fixture files under tests/k8s/data/discover/ are written like real manifests, with ``${name}``
standing for a namespace (each test gets fresh ones: the emulator is shared). What a controller
adds is added here: ``ownerReferences`` (Pod → ReplicaSet → Deployment, Pod → StatefulSet),
``pod-template-hash`` / ``controller-revision-hash`` / ``statefulset.kubernetes.io/pod-name``,
StatefulSet ``hostname``/``subdomain``, pod IPs. Test-only annotations on a controller:
``test.mqdrill.io/pod-ips`` (comma list: fixed IPs, e.g. what an operator wrote into a broker's
NAMESRV_ADDR) and ``test.mqdrill.io/rollout-from-image`` (a rollout in progress: one pod of the
previous ReplicaSet, with that image, still running).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
from pathlib import Path
from typing import Any

import yaml

from tests.k8s.emulator import Emulator

DATA = Path(__file__).resolve().parent / "data" / "discover"
_ip = itertools.count(10)


def _hash(*parts: str) -> str:
    return "".join(c for c in hashlib.sha1("/".join(parts).encode()).hexdigest() if c in "bcdfghjklmnpqrstvwxz2456789")[
        :10
    ]


def _owner(kind: str, name: str, api: str = "apps/v1") -> dict[str, Any]:
    return {"apiVersion": api, "kind": kind, "name": name, "uid": f"uid-{kind}-{name}", "controller": True}


def _pod(template: dict[str, Any], name: str, ns: str, labels: dict[str, str], owner: dict[str, Any], ip: str) -> Any:
    spec = copy.deepcopy(template["spec"])
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels, "ownerReferences": [owner]},
        "spec": spec,
        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]},
    }


def _ips(doc: dict[str, Any], n: int) -> list[str]:
    fixed = (doc["metadata"].get("annotations") or {}).get("test.mqdrill.io/pod-ips")
    if fixed:
        return [s.strip() for s in fixed.split(",")]
    return [f"10.244.{k // 250}.{k % 250 + 1}" for k in itertools.islice(_ip, n)]


def _deployment(doc: dict[str, Any]) -> list[dict[str, Any]]:
    ns, name = doc["metadata"]["namespace"], doc["metadata"]["name"]
    template = doc["spec"]["template"]
    replicas = int(doc["spec"].get("replicas", 1))
    versions = [(template, replicas)]
    old_image = (doc["metadata"].get("annotations") or {}).get("test.mqdrill.io/rollout-from-image")
    if old_image:
        old = copy.deepcopy(template)
        old["spec"]["containers"][0]["image"] = old_image
        versions.append((old, 1))
    out: list[dict[str, Any]] = []
    ips = iter(_ips(doc, sum(n for _, n in versions)))
    for tpl, n in versions:
        h = _hash(ns, name, yaml.safe_dump(tpl))
        rs_name = f"{name}-{h}"
        labels = {**tpl["metadata"]["labels"], "pod-template-hash": h}
        out.append(
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": rs_name,
                    "namespace": ns,
                    "labels": labels,
                    "ownerReferences": [_owner("Deployment", name)],
                },
                "spec": {"replicas": n, "selector": doc["spec"]["selector"], "template": tpl},
            }
        )
        for i in range(n):
            pod_name = f"{rs_name}-{_hash(rs_name, str(i))[:5]}"
            out.append(_pod(tpl, pod_name, ns, dict(labels), _owner("ReplicaSet", rs_name), next(ips)))
    return out


def _statefulset(doc: dict[str, Any]) -> list[dict[str, Any]]:
    ns, name = doc["metadata"]["namespace"], doc["metadata"]["name"]
    template = doc["spec"]["template"]
    replicas = int(doc["spec"].get("replicas", 1))
    revision = f"{name}-{_hash(ns, name, yaml.safe_dump(template))}"
    out = []
    for i, ip in zip(range(replicas), _ips(doc, replicas), strict=False):
        pod_name = f"{name}-{i}"
        labels = {
            **template["metadata"]["labels"],
            "controller-revision-hash": revision,
            "statefulset.kubernetes.io/pod-name": pod_name,
            "apps.kubernetes.io/pod-index": str(i),
        }
        pod = _pod(template, pod_name, ns, labels, _owner("StatefulSet", name), ip)
        pod["spec"]["hostname"] = pod_name
        pod["spec"]["subdomain"] = doc["spec"].get("serviceName", name)
        out.append(pod)
    return out


def objects(file_name: str, namespaces: dict[str, str]) -> list[dict[str, Any]]:
    """The cluster objects a fixture file stands for, with ``${x}`` replaced by ``namespaces[x]``."""
    text = re.sub(r"\$\{(\w+)\}", lambda m: namespaces[m.group(1)], (DATA / file_name).read_text())
    out: list[dict[str, Any]] = []
    for doc in yaml.safe_load_all(text):
        if not doc:
            continue
        if doc["kind"] == "Deployment":
            out += _deployment(doc)
        elif doc["kind"] == "StatefulSet":
            out += _statefulset(doc)
        else:
            out.append(doc)
    return out


PATHS = {
    "Pod": "/api/v1/namespaces/{ns}/pods",
    "Service": "/api/v1/namespaces/{ns}/services",
    "Endpoints": "/api/v1/namespaces/{ns}/endpoints",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "ReplicaSet": "/apis/apps/v1/namespaces/{ns}/replicasets",
}


def load(emulator: Emulator, objs: list[dict[str, Any]]) -> None:
    for obj in objs:
        emulator.request("POST", PATHS[obj["kind"]].format(ns=obj["metadata"]["namespace"]), obj)
