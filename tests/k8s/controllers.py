"""The tests play the controllers the emulator does not have, writing status through the API.

A real Chaos Mesh controller or chaosblade-operator would write these same fields; here a
test decides when (typically from the fake clock's sleep, i.e. while the engine polls).
"""

from __future__ import annotations

from typing import Any

from tests.k8s.emulator import Emulator

CM = "/apis/chaos-mesh.org/v1alpha1"
CB = "/apis/chaosblade.io/v1alpha1/chaosblades"


class ChaosMeshController:
    """Plays Chaos Mesh v2: finalizer + records + AllInjected; on deletion AllRecovered, then release."""

    def __init__(self, emulator: Emulator, namespace: str, plural: str = "podchaos") -> None:
        self.emu = emulator
        self.base = f"{CM}/namespaces/{namespace}/{plural}"
        self.release_finalizers = True  # False: a stuck controller (the target pod vanished, say)

    def objects(self) -> list[dict[str, Any]]:
        return list(self.emu.request("GET", self.base).get("items") or [])

    def inject_all(self, *, pods: int = 1) -> None:
        for obj in self.objects():
            name = obj["metadata"]["name"]
            if obj["metadata"].get("deletionTimestamp") or obj.get("status"):
                continue  # (the mock's merge patch appends to lists: write each status once)
            recs = [
                {
                    "id": f"ns/pod-{i}",
                    "selectorKey": ".",
                    "phase": "Injected",
                    "injectedCount": 1,
                    "recoveredCount": 0,
                }
                for i in range(pods)
            ]
            self.emu.merge_patch(
                f"{self.base}/{name}",
                {
                    "metadata": {"finalizers": ["chaos-mesh/records"]},
                    "status": {
                        "conditions": [
                            {"type": "Selected", "status": "True"},
                            {"type": "AllInjected", "status": "True"},
                            {"type": "AllRecovered", "status": "False"},
                        ],
                        "experiment": {"desiredPhase": "Run", "containerRecords": recs},
                    },
                },
            )

    def react_to_deletion(self) -> None:
        for obj in self.objects():
            meta = obj["metadata"]
            if not meta.get("deletionTimestamp"):
                continue
            forced = (meta.get("annotations") or {}).get("chaos-mesh.chaos-mesh.org/cleanFinalizer") == "forced"
            if not self.release_finalizers and not forced:
                continue
            self.emu.merge_patch(f"{self.base}/{meta['name']}", {"metadata": {"finalizers": None}})

    def tick(self, *, pods: int = 1) -> None:
        self.inject_all(pods=pods)
        self.react_to_deletion()


class ChaosBladeOperator:
    """Plays chaosblade-operator v1.8: phase Running with resStatuses; on deletion Destroyed."""

    def __init__(self, emulator: Emulator, *, succeed: bool = True) -> None:
        self.emu = emulator
        self.succeed = succeed
        self.release_finalizers = True

    def objects(self) -> list[dict[str, Any]]:
        return list(self.emu.request("GET", CB).get("items") or [])

    def tick(self) -> None:
        for obj in self.objects():
            meta, name = obj["metadata"], obj["metadata"]["name"]
            if meta.get("deletionTimestamp"):
                if self.release_finalizers:
                    self.emu.merge_patch(f"{CB}/{name}/status", {"status": {"phase": "Destroyed"}})
                    self.emu.merge_patch(f"{CB}/{name}", {"metadata": {"finalizers": None}})
                continue
            if (obj.get("status") or {}).get("phase"):
                continue
            self.emu.merge_patch(f"{CB}/{name}", {"metadata": {"finalizers": ["finalizer.chaosblade.io"]}})
            exps = [
                {
                    "scope": e["scope"],
                    "target": e["target"],
                    "action": e["action"],
                    "success": self.succeed,
                    "state": "Success" if self.succeed else "Error",
                    "error": "" if self.succeed else "cannot find pods by labels",
                    "resStatuses": [
                        {
                            "kind": "pod",
                            "identifier": "mqdrill-demo/node-1/rocketmq-broker-0",
                            "id": "a1b2c3",
                            "state": "Success" if self.succeed else "Error",
                            "success": self.succeed,
                            **({} if self.succeed else {"error": "pod not found"}),
                        }
                    ],
                }
                for e in obj["spec"]["experiments"]
            ]
            self.emu.merge_patch(
                f"{CB}/{name}/status",
                {"status": {"phase": "Running" if self.succeed else "Error", "expStatuses": exps}},
            )
