"""Start and drive fabric8's kubernetes-server-mock (CRUD mode) for the tests.

The emulator is the jar built by ``scripts/setup.d/50-k8s-emulator.sh``; it listens on a random
loopback port. Nothing here is mqdrill code: tests talk to the emulator over plain HTTP with
urllib, so "the controller" they play is independent of the code under test.
"""

from __future__ import annotations

import json
import subprocess
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
EMULATOR_DIR = ROOT / "tests" / "k8s_emulator" / "target"
VENDOR = ROOT.parent / "shared" / "vendor"
CRD_FILES = sorted((VENDOR / "chaos-mesh").glob("chaos-mesh.org_*.yaml")) + [
    VENDOR / "chaosblade" / "chaosblade-operator-crd.yaml"
]
# The two biggest Chaos Mesh CRDs (Schedule, Workflow: 1.5 MB) are never created by mqdrill.
SKIP_CRDS = {"chaos-mesh.org_schedules.yaml", "chaos-mesh.org_workflows.yaml"}


@dataclass
class Emulator:
    """A running emulator: its URL, and helpers to play the parts it does not model."""

    proc: subprocess.Popen[str]
    port: int
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body: Any = None, content_type: str = "application/json") -> Any:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", content_type)
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback only
            raw = resp.read()
        return json.loads(raw) if raw.strip().startswith(b"{") else raw.decode()

    def expect(
        self,
        path: str,
        *,
        method: str = "GET",
        status: int = 200,
        body: str | dict[str, Any] = "",
        query: dict[str, str] | None = None,
        delay_ms: int = 0,
        times: int = -1,
    ) -> None:
        """Record a canned answer, served before CRUD (newest first) — what the mock cannot model."""
        text = json.dumps(body) if isinstance(body, dict) else body
        self.request(
            "POST",
            "/__emulator/expect",
            {
                "method": method,
                "path": path,
                "status": status,
                "body": text,
                "query": query or {},
                "delay_ms": delay_ms,
                "times": times,
            },
        )

    def clear_expectations(self) -> None:
        self.request("DELETE", "/__emulator/expect")

    def register_crds(self) -> list[str]:
        names = []
        for path in CRD_FILES:
            if path.name in SKIP_CRDS:
                continue
            for crd in yaml.safe_load_all(path.read_text()):
                self.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
                names.append(crd["metadata"]["name"])
        return names

    def merge_patch(self, path: str, patch: dict[str, Any]) -> Any:
        return self.request("PATCH", path, patch, content_type="application/merge-patch+json")

    def write_kubeconfig(self, path: Path, *, namespace: str = "default", server: str | None = None) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "emulator",
            "clusters": [{"name": "emulator", "cluster": {"server": server or self.url}}],
            "users": [{"name": "tester", "user": {"token": "secret"}}],
            "contexts": [
                {
                    "name": "emulator",
                    "context": {"cluster": "emulator", "user": "tester", "namespace": namespace},
                }
            ],
        }
        path.write_text(yaml.safe_dump(config))
        return path

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def start_emulator(timeout_s: float = 60.0) -> Emulator:
    """Start the emulator on a random loopback port and wait until it says where it listens."""
    if not (EMULATOR_DIR / "classes").is_dir():
        raise RuntimeError(f"the Kubernetes API emulator is not built ({EMULATOR_DIR}); run scripts/setup first")
    classpath = f"{EMULATOR_DIR / 'classes'}:{EMULATOR_DIR / 'lib'}/*"
    proc = subprocess.Popen(  # noqa: S603 - fixed argv
        ["java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", classpath, "io.mqdrill.emulator.Main"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    port: list[int] = []
    ready = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("LISTENING "):
                port.append(int(line.split()[1]))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(timeout_s) or not port:
        proc.kill()
        raise RuntimeError("the Kubernetes API emulator did not start")
    return Emulator(proc=proc, port=port[0])


def is_reachable(url: str) -> bool:
    try:
        urllib.request.urlopen(url + "/version", timeout=2).close()  # noqa: S310 - loopback only
    except (urllib.error.URLError, OSError):
        return False
    return True
