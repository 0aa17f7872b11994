"""The local engine: executes :class:`LocalAction` plans against the embedded environment.

Each action becomes one fault directory under ``<state>/faults`` with a watchdog process that
ends it at its deadline even if mqdrill dies (:mod:`bridge.env.faultlog`). The :class:`Handle`
copies every fault record (state dir, undo record, watchdog identity), so ``recover`` works
from a handle read back from the ledger, even if the fault directory is gone.
"""

from __future__ import annotations

import re
import signal
import uuid
from collections.abc import Mapping
from typing import Any

from bridge.engines import local_plan
from bridge.engines.base import EngineName, Fault, FaultState, Handle, LocalAction, Plan
from bridge.env import faultlog, faults, health, procs, services
from bridge.env.config import TARGET_SERVICES, EnvConfig, default_config, load_config
from bridge.errors import InjectionError, MqdrillError, RecoveryError
from bridge.spec.catalog import load_catalog


def _fault_id(run_id: str, index: int, action: LocalAction) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", run_id)[:60]
    return f"{safe}-{index}-{action.kind}-{action.service}-{uuid.uuid4().hex[:6]}"


class LocalEngine:
    """Kill, pause, toxics, proxy-down, iptables DROP, disk fill and CPU stress on local services."""

    name: EngineName = "local"

    def __init__(self, config: EnvConfig | None = None, *, state_dir: str | None = None) -> None:
        """``config`` or ``state_dir`` names the environment; by default the one ``env up`` started."""
        self._config = config if config is not None else (load_config(state_dir) if state_dir else None)
        self._confirmed: dict[str, str] = {}  # handle ref → how the business path came back

    @property
    def config(self) -> EnvConfig:
        if self._config is None:
            self._config = default_config()
        return self._config

    def plan(self, fault: Fault) -> Plan:
        """Delegate to the planner (:mod:`bridge.engines.local_plan`), which has no side effects."""
        return local_plan.plan(fault, load_catalog())

    def inject(self, plan: Plan) -> Handle:
        """Apply every action of ``plan``, each confirmed; on a failure undo those already applied."""
        if not plan.local:
            raise InjectionError("the plan has no local actions")
        cfg = self.config
        records: list[dict[str, Any]] = []
        try:
            for index, action in enumerate(plan.local):
                self._check(action, cfg)
                deadline = action.deadline_s or plan.fault.duration_s
                fid = _fault_id(plan.fault.run_id, index, action)
                records.append(faultlog.inject(cfg, fid, action.kind, action.service, action.params, deadline))
        except MqdrillError:
            for record in reversed(records):
                faultlog.recover(cfg, record["id"], by="inject-failed")
            raise
        data = {"state_dir": str(cfg.state_dir), "faults": records}
        return Handle(engine="local", run_id=plan.fault.run_id, ref=",".join(r["id"] for r in records), data=data)

    @staticmethod
    def _check(action: LocalAction, cfg: EnvConfig) -> None:
        if action.kind not in faults.KINDS:
            raise InjectionError(f"unknown local action kind {action.kind!r}: allowed {', '.join(faults.KINDS)}")
        # the environment's own services, and the user's application when `env up --app` started one
        allowed = (*TARGET_SERVICES, *((cfg.user_app.name,) if cfg.user_app is not None else ()))
        if action.service not in allowed:
            raise InjectionError(f"unknown local service {action.service!r}: allowed {', '.join(allowed)}")

    def status(self, handle: Handle) -> FaultState:
        cfg = _config_of(handle)
        seen = [faultlog.observe(cfg, r["id"]) for r in _records(handle)]
        states = {s for s, _ in seen}
        records = _records(handle)
        detail = (
            seen[0][1]
            if len(seen) == 1
            else "; ".join(f"{r['id']}: {d}" for r, (_, d) in zip(records, seen, strict=True))
        )
        if states == {"injected"}:
            return FaultState("injected", detail)
        if states == {"recovered"}:
            confirmed = self._confirmed.get(handle.ref)
            return FaultState("recovered", f"{detail}; {confirmed}" if confirmed else detail)
        return FaultState("partial", detail)

    def recover(self, handle: Handle) -> None:
        """Take back every fault of ``handle`` (idempotent), then confirm by the business path.

        One failure does not skip the others. Once every fault is taken back, a message must go
        through the shop again within a bounded wait (:func:`confirm_timeout_s`); if it does not,
        the recovery fails with the business path's error, so the run says so. The check is
        skipped (and said so) while another fault is active on the environment: its effect is
        not ours to wait out.
        """
        cfg = _config_of(handle)
        restarts_namesrv = any(r["kind"] == "kill" and r["service"] == "namesrv" for r in _records(handle))
        registration_after = health.broker_log_offset(cfg) if restarts_namesrv and not cfg.external else None
        failed: list[str] = []
        for record in reversed(_records(handle)):
            try:
                _recover_one(cfg, record)
            except MqdrillError as exc:
                failed.append(f"{record['id']}: {exc}")
        if failed:
            raise RecoveryError("could not take back: " + "; ".join(failed), leftovers=failed)
        ours = {r["id"] for r in _records(handle)}
        others = [fid for fid in faultlog.active_ids(cfg) if fid not in ours]
        if others:
            self._confirmed[handle.ref] = f"business path not checked: other faults are active ({', '.join(others)})"
            return
        if not any(services.running(cfg, s) is not None for s in cfg.services):
            self._confirmed[handle.ref] = "business path not checked: the environment is not running"
            return
        confirmation = health.wait_business(
            cfg, confirm_timeout_s(_records(handle)), registration_after=registration_after
        )
        self._confirmed[handle.ref] = confirmation.detail
        if not confirmation.ok:
            raise RecoveryError(f"the fault is taken back, but {confirmation.detail}", leftovers=[])


# How long a recovery may take to show in the business path, by the slowest link it restarts.
# A restarted broker or name server is routed to again only after the broker's registration, the
# proxy's caches and the client's 30 s route poll (docs/environment.md, "After a broker restart":
# about 57 s at worst); a restarted proxy needs its JVM start-up and the clients' re-creation.
CONFIRM_S = {"broker": 90.0, "namesrv": 90.0, "proxy": 90.0}
CONFIRM_DEFAULT_S = 45.0


def confirm_timeout_s(records: list[Mapping[str, Any]]) -> float:
    """The bounded wait for the business path after taking back ``records``."""
    waits = [CONFIRM_S.get(r["service"], CONFIRM_DEFAULT_S) if r["kind"] in ("kill", "pause") else CONFIRM_DEFAULT_S
             for r in records]  # fmt: skip
    return max(waits, default=CONFIRM_DEFAULT_S)


def _records(handle: Handle) -> list[Mapping[str, Any]]:
    return list(handle.data.get("faults", []))


def _config_of(handle: Handle) -> EnvConfig:
    return load_config(handle.data["state_dir"])


def _recover_one(cfg: EnvConfig, record: Mapping[str, Any]) -> None:
    if (faultlog.fault_dir(cfg, record["id"]) / "fault.json").is_file():
        faultlog.recover(cfg, record["id"])
        return
    # the fault directory is gone: undo from the handle's own copy, then retire the watchdog
    faults.undo(cfg, record["kind"], record["service"], record.get("undo", {}))
    if "watchdog" in record:
        dog = procs.ProcId(record["watchdog"]["pid"], record["watchdog"]["start"])
        procs.send(dog, signal.SIGTERM)
