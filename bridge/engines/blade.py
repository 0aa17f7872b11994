"""The ``blade`` engine: the ChaosBlade CLI, run through the process boundary.

It serves the targets the operator cannot reach: self-built RocketMQ on plain hosts (what
Alibaba Cloud's message drill targets: ``blade create process kill``, ``network drop`` …) and,
when no operator is installed, Kubernetes through ``blade create k8s … --kubeconfig``.
How blade answers, and why ``create`` runs in a session of its own: :mod:`bridge.engines.blade_cli`.

``inject`` runs each planned ``blade create`` with a ``--uid`` chosen beforehand — ``mqdrill``,
four hex digits of the run id, five random ones — so that a create that timed out can still be
destroyed and ``mqdrill recover --all`` can tell ours apart in blade's own records (blade's own
UIDs are hexadecimal). It confirms them with ``blade status --uid``; ``recover`` runs ``blade
destroy UID`` for each. ``list_leftovers``/``delete_leftovers`` sweep blade's records
(``blade status --type create --status Success``) for active experiments of ours that no ledger
knows, e.g. when mqdrill was killed between ``create`` and writing its ledger.

When the embedded environment plays the host, a process kill gets the environment's host
supervisor (:mod:`bridge.env.supervisor`), which restarts the service as systemd would.
The executable is ``blade`` on PATH unless ``MQDRILL_BLADE`` or the ``blade`` option names another.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from bridge.engines import blade_host
from bridge.engines.base import EngineName, Fault, FaultState, Handle, Plan
from bridge.engines.blade_cli import BladeCli, Envelope, kubeconfig_problem, parse_envelope
from bridge.engines.waiting import Clock, SystemClock, retry, wait_until
from bridge.errors import InjectionError, MqdrillError, ProcessError, RecoveryError

__all__ = ["BLADE_ENV", "BladeEngine", "Envelope", "mqdrill_uid", "parse_envelope"]

BLADE_ENV = "MQDRILL_BLADE"
UID_PREFIX = "mqdrill"
# blade status values (chaosblade data/experiment.go): Created → Success | Error → Destroyed | Revoked
INJECTED = {"Success"}
ENDED = {"Destroyed", "Revoked"}
ABSENT = "absent"  # blade has no record of the UID (code 67002): a create that never got that far
SUPERVISOR_SLACK_S = 120  # the host supervisor outlives the fault's hard end by this much


def run_tag(run_id: str) -> str:
    return hashlib.sha1(run_id.encode()).hexdigest()[:4]


def mqdrill_uid(run_id: str) -> str:
    """A 16-character UID that says "mqdrill, run <tag>" and can never be one of blade's (hex only)."""
    return f"{UID_PREFIX}{run_tag(run_id)}{secrets.token_hex(3)[:5]}"


def is_ours(uid: str, run_id: str | None = None) -> bool:
    return uid.startswith(UID_PREFIX) and (run_id is None or uid[len(UID_PREFIX) :].startswith(run_tag(run_id)))


class BladeEngine:
    """Faults applied with the ``blade`` CLI; a Handle holds the experiment UIDs."""

    name: EngineName = "blade"

    def __init__(
        self,
        *,
        blade: str | None = None,
        kubeconfig: str | None = None,
        context: str | None = None,
        timeout_s: float = 60.0,
        clock: Clock | None = None,
        confirm_timeout_s: float = 30.0,
        poll_s: float = 1.0,
        attempts: int = 3,
        planner: Callable[[Fault], Plan] | None = None,
    ) -> None:
        self.blade = blade or os.environ.get(BLADE_ENV) or "blade"
        self._explicit = bool(blade or os.environ.get(BLADE_ENV))
        self.kubeconfig = kubeconfig
        self.context = context  # blade has no --context: a k8s create with one is refused (_check_targets)
        self.cli = BladeCli(self.blade, kubeconfig=kubeconfig, timeout_s=timeout_s)
        self.clock = clock or SystemClock()
        self.confirm_timeout_s = confirm_timeout_s
        self.poll_s = poll_s
        self.attempts = attempts
        self._planner = planner
        # UIDs chosen by planned_handle, by plan, for the inject of that same plan (the plan is
        # kept with them so its id cannot be reused while they wait)
        self._ahead: dict[int, tuple[Plan, list[str]]] = {}

    def plan(self, fault: Fault) -> Plan:
        if self._planner is not None:
            return self._planner(fault)
        from bridge.engines.planning import plan_fault  # the planners import the catalog: only when asked
        from bridge.spec.catalog import load_catalog

        return plan_fault(fault, load_catalog(), kubeconfig=self.kubeconfig)

    # -- running blade (kept as methods: tests and callers use them) ---------------------------

    def command(self, argv: Sequence[str]) -> list[str]:
        return self.cli.command(argv)

    def answer(self, args: Sequence[str]) -> tuple[Envelope | None, str]:
        return self.cli.answer(args)

    def run(self, args: Sequence[str]) -> Envelope:
        return self.cli.run(args)

    # -- the engine contract -----------------------------------------------------------------

    def planned_handle(self, plan: Plan) -> Handle:
        """The handle :meth:`inject` will return, before blade runs: the UIDs are chosen here, so
        the ledger holds them first and an experiment whose create and rollback both fail (a
        ChaosBlade left in phase Error, say) is still found by `mqdrill recover`."""
        uids = [
            argv[argv.index("--uid") + 1] if "--uid" in argv else mqdrill_uid(plan.fault.run_id) for argv in plan.argv
        ]
        self._ahead[id(plan)] = (plan, uids)
        return self._handle(plan.fault.run_id, uids)

    def inject(self, plan: Plan) -> Handle:
        if not plan.argv:
            raise InjectionError("the blade plan has no command to run")
        ahead_plan, ahead = self._ahead.pop(id(plan), (None, []))
        chosen = ahead if ahead_plan is plan else [None] * len(plan.argv)
        commands = [self._with_uid(argv, plan.fault.run_id, uid) for argv, uid in zip(plan.argv, chosen, strict=True)]
        self._check_targets(commands)
        supervised = self._supervise(plan.fault, commands)
        uids: list[str] = []
        try:
            for args in commands:
                # Known before blade runs, so a create that timed out can still be destroyed.
                uids.append(args[args.index("--uid") + 1])
                env = self.run(args)
                if isinstance(env.result, str) and env.result.strip() and env.result.strip() != uids[-1]:
                    uids[-1] = env.result.strip()
            handle = self._handle(plan.fault.run_id, uids, supervised)
            self._confirm(uids)
        except MqdrillError as exc:
            if not uids:
                raise InjectionError(f"blade could not inject: {exc}") from exc
            try:
                self.recover(self._handle(plan.fault.run_id, uids, supervised))
            except MqdrillError as again:
                raise InjectionError(f"{exc} — destroying {', '.join(uids)} failed too: {again}") from exc
            raise InjectionError(f"{exc} — destroyed {', '.join(uids)}") from exc
        return handle

    def status(self, handle: Handle) -> FaultState:
        cli = self._cli_for(handle)
        seen = [self._state(uid, cli) for uid in handle.data.get("uids", [])]
        if seen and all(s in INJECTED for s in seen):
            return FaultState("injected", ", ".join(seen))
        if seen and all(s in ENDED or s == ABSENT for s in seen):
            return FaultState("recovered", ", ".join(seen))
        return FaultState("partial" if seen else "unknown", ", ".join(seen))

    def recover(self, handle: Handle) -> None:
        cli = self._cli_for(handle)
        failed: list[str] = []
        errors: list[str] = []
        for uid in handle.data.get("uids", []):
            try:
                retry(
                    partial(self._destroy, uid, cli),
                    attempts=self.attempts,
                    delay_s=1.0,
                    clock=self.clock,
                    retry_on=(ProcessError,),
                )
            except ProcessError as exc:
                failed.append(uid)
                errors.append(str(exc))
        self._release(handle)
        if failed:
            raise RecoveryError(
                f"blade could not destroy {', '.join(failed)}: {'; '.join(errors)}; "
                "retry with `mqdrill recover` or `blade destroy <uid>` "
                "(each fault also ends by its own --timeout)",
                leftovers=[f"blade:{uid}" for uid in failed],
            )

    # -- the sweep of blade's own records (mqdrill recover --all) -------------------------------

    def active_records(self) -> list[dict[str, Any]]:
        """blade's records of experiments still on (``Success``), newest first; [] when there is no blade."""
        env, failure = self._status_answer(["status", "--type", "create", "--status", "Success"])
        if failure:
            if env is None and "command not found" in failure and not self._explicit:
                return []  # no blade on this machine: nothing of blade's can be left over
            if env is not None and "not found" in env.error.lower():
                return []
            raise ProcessError(failure)
        result = env.result if env is not None else None
        return [r for r in result if isinstance(r, dict)] if isinstance(result, list) else []

    def list_leftovers(self, run_id: str | None = None) -> list[str]:
        """Our experiments blade still has on (of one run, or all)."""
        found = []
        for r in self.active_records():
            uid = str(r.get("Uid", ""))
            if is_ours(uid, run_id):
                found.append(f"{uid} (blade {r.get('Command', '')} {r.get('SubCommand', '')}".rstrip() + ")")
        return found

    def delete_leftovers(self, run_id: str | None = None) -> None:
        uids = [str(r["Uid"]) for r in self.active_records() if is_ours(str(r.get("Uid", "")), run_id)]
        if uids:
            self.recover(Handle(engine=self.name, run_id=run_id or "sweep", ref=", ".join(uids), data={"uids": uids}))

    # -- internals ---------------------------------------------------------------------------

    def _status_answer(self, args: Sequence[str]) -> tuple[Envelope | None, str]:
        try:
            return self.answer(args)
        except ProcessError as exc:
            return None, str(exc)

    def _cli_for(self, handle: Handle) -> BladeCli:
        """The blade that made the experiments (its records live beside it), unless ours was named."""
        recorded = str(handle.data.get("blade") or "")
        if self._explicit or not recorded or recorded == self.blade or not os.path.isfile(recorded):
            return self.cli
        return BladeCli(recorded, kubeconfig=self.kubeconfig, timeout_s=self.cli.timeout_s)

    def _with_uid(self, argv: Sequence[str], run_id: str, uid: str | None = None) -> list[str]:
        args = list(argv[1:] if argv and os.path.basename(argv[0]) == "blade" else argv)
        if args[:1] != ["create"]:
            raise InjectionError(f"a blade plan may only run `blade create`, not `{' '.join(argv)}`")
        if "--uid" not in args:
            args += ["--uid", uid or mqdrill_uid(run_id)]
        return args

    def _check_targets(self, commands: Sequence[Sequence[str]]) -> None:
        """Refused in plain words before anything runs: on a host, a --process target blade cannot
        see; on Kubernetes, a cluster blade would not reach the way mqdrill does."""
        for args in commands:
            if args[1:2] == ["k8s"]:
                self._check_cluster(args)
            elif "--process" in args:
                why = blade_host.hidden_from_blade(args[args.index("--process") + 1])
                if why:
                    raise InjectionError(why)

    def _check_cluster(self, args: Sequence[str]) -> None:
        if self.context:
            raise InjectionError(
                f"blade has no --context, so it cannot use context {self.context!r}: pass a kubeconfig whose "
                "current context is that cluster (kubectl config use-context, or a kubeconfig of its own)"
            )
        argv = self.command(args)
        why = kubeconfig_problem(argv[argv.index("--kubeconfig") + 1])
        if why:
            raise InjectionError(why)

    def _supervise(self, fault: Fault, commands: Sequence[Sequence[str]]) -> list[str]:
        """The embedded environment as the host: its supervisor restarts what a process kill ends."""
        kills = any(a[1:3] == ["process", "kill"] for a in commands)
        if not kills or fault.target.namespace is not None:
            return []
        from bridge.spec.catalog import load_catalog

        layout = blade_host.current(load_catalog())
        if layout.state_dir is None:
            return []  # a real host: its own supervisor (systemd, …) does this
        from bridge.env import supervisor
        from bridge.env.config import load_config

        cfg = load_config(layout.state_dir)
        after = float(fault.params.get("restart_after", 10.0))
        until = time.time() + fault.duration_s + SUPERVISOR_SLACK_S
        for service in fault.target.services:
            supervisor.ensure(cfg, service, restart_after_s=after, until=until)
        return [layout.state_dir, *fault.target.services]

    @staticmethod
    def _release(handle: Handle) -> None:
        """After recovery the supervisor only brings a still-down service back, then leaves (so it
        never restarts what a later drill kills on purpose)."""
        state_dir, *names = handle.data.get("supervised") or [None]
        if state_dir is None:
            return
        from bridge.env import supervisor
        from bridge.env.config import load_config

        try:
            cfg = load_config(state_dir)
        except MqdrillError:
            return  # the environment is gone: so is its supervisor
        for name in names:
            supervisor.release(cfg, name)

    def _handle(self, run_id: str, uids: Sequence[str], supervised: Sequence[str] = ()) -> Handle:
        data: dict[str, Any] = {"uids": list(uids), "blade": self.blade}
        if supervised:
            data["supervised"] = list(supervised)  # [state_dir, service, …]
        return Handle(engine=self.name, run_id=run_id, ref=", ".join(uids), data=data)

    def _state(self, uid: str, cli: BladeCli | None = None) -> str:
        env, failure = (cli or self.cli).answer(["status", "--uid", uid])
        if failure:
            if env is not None and "not found" in env.error.lower():
                return ABSENT
            raise ProcessError(failure)
        assert env is not None
        result = env.result if isinstance(env.result, dict) else {}
        return str(result.get("Status") or result.get("status") or "unknown")

    def _confirm(self, uids: Sequence[str]) -> None:
        def observe() -> list[tuple[str, str]]:
            return [(uid, self._state(uid)) for uid in uids]

        def settled(seen: list[tuple[str, str]]) -> bool:
            return all(s in INJECTED or s == "Error" for _, s in seen)

        ok, seen = wait_until(observe, settled, timeout_s=self.confirm_timeout_s, poll_s=self.poll_s, clock=self.clock)
        bad = [f"{uid}: {s}" for uid, s in seen if s not in INJECTED]
        if bad:
            why = "failed" if ok else f"not confirmed within {self.confirm_timeout_s:g}s"
            raise InjectionError(f"blade experiment {why}: {'; '.join(bad)}")

    def _destroy(self, uid: str, cli: BladeCli) -> None:
        _, failure = cli.answer(["destroy", uid])
        if not failure:
            return
        # Destroying twice, or after blade's own --timeout ended it, or an experiment whose create
        # never got as far as a record, is not a failure: ask blade what it knows of the UID.
        env, status_failure = cli.answer(["status", "--uid", uid])
        if env is not None and not env.success and "not found" in env.error.lower():
            return
        ended = env is not None and isinstance(env.result, dict) and str(env.result.get("Status")) in ENDED
        if ended and not status_failure:
            return
        raise ProcessError(failure)
