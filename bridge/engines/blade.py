"""The ``blade`` engine: the ChaosBlade CLI, run through the process boundary.

It serves the targets the operator cannot reach: self-built RocketMQ on plain hosts (what
Alibaba Cloud's message drill targets: ``blade create process kill``, ``network drop`` …) and,
when no operator is installed, Kubernetes through ``blade create k8s … --kubeconfig``.

Every blade command answers with one JSON envelope on stdout::

    {"code": 200, "success": true, "result": "<uid>"}            create
    {"code": 200, "success": true, "result": {"Status": "Success", "Uid": …}}   status --uid
    {"code": 602, "success": false, "error": "less necessary flag …"}           any failure

``inject`` runs each planned ``blade create`` with a ``--uid`` chosen beforehand (so a create
that timed out can still be destroyed), keeps the UIDs in the handle and confirms them with
``blade status --uid UID``; ``recover`` runs ``blade destroy UID`` for each. The executable is
``blade`` on PATH unless ``MQDRILL_BLADE`` or the ``blade`` option names another.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from bridge import process
from bridge.engines.base import EngineName, Fault, FaultState, Handle, Plan
from bridge.engines.waiting import Clock, SystemClock, retry, wait_until
from bridge.errors import InjectionError, MqdrillError, ProcessError, RecoveryError

BLADE_ENV = "MQDRILL_BLADE"
# blade status values (chaosblade data/experiment.go): Created → Success | Error → Destroyed | Revoked
INJECTED = {"Success"}
ENDED = {"Destroyed", "Revoked"}


@dataclass(frozen=True)
class Envelope:
    """One parsed blade answer."""

    code: int
    success: bool
    result: Any
    error: str


def parse_envelope(stdout: str, argv: Sequence[str]) -> Envelope:
    """The last JSON object blade printed (it may log lines before it)."""
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                raw = json.loads(line)
            except ValueError:
                continue
            if isinstance(raw, dict) and "code" in raw:
                return Envelope(
                    int(raw.get("code", 0)),
                    bool(raw.get("success")),
                    raw.get("result"),
                    str(raw.get("error") or ""),
                )
    shown = stdout.strip()[-200:] or "(nothing)"
    raise ProcessError(f"`{' '.join(argv)}` did not answer with a blade JSON envelope: {shown}")


class BladeEngine:
    """Faults applied with the ``blade`` CLI; a Handle holds the experiment UIDs."""

    name: EngineName = "blade"

    def __init__(
        self,
        *,
        blade: str | None = None,
        kubeconfig: str | None = None,
        timeout_s: float = 60.0,
        clock: Clock | None = None,
        confirm_timeout_s: float = 30.0,
        poll_s: float = 1.0,
        attempts: int = 3,
        planner: Callable[[Fault], Plan] | None = None,
    ) -> None:
        self.blade = blade or os.environ.get(BLADE_ENV) or "blade"
        self.kubeconfig = kubeconfig
        self.timeout_s = timeout_s
        self.clock = clock or SystemClock()
        self.confirm_timeout_s = confirm_timeout_s
        self.poll_s = poll_s
        self.attempts = attempts
        self._planner = planner

    def plan(self, fault: Fault) -> Plan:
        if self._planner is not None:
            return self._planner(fault)
        from bridge.engines.planning import plan_fault  # the planners import the catalog: only when asked
        from bridge.spec.catalog import load_catalog

        return plan_fault(fault, load_catalog(), kubeconfig=self.kubeconfig)

    # -- running blade ------------------------------------------------------------------------

    def command(self, argv: Sequence[str]) -> list[str]:
        """A planned argv made runnable: our executable first, ``--kubeconfig`` for k8s commands."""
        args = list(argv)
        if args and os.path.basename(args[0]) == "blade":
            args = args[1:]
        if args[:2] == ["create", "k8s"]:
            if "--kubeconfig" not in args:
                args += ["--kubeconfig", self.kubeconfig or "~/.kube/config"]
            at = args.index("--kubeconfig") + 1
            # Ours wins over the planned one; no shell runs blade, so "~" is expanded here.
            args[at] = os.path.expanduser(self.kubeconfig or args[at])
        return [self.blade, *args]

    def answer(self, args: Sequence[str]) -> tuple[Envelope | None, str]:
        """Run one blade command; its envelope (``None`` if it printed none) and a failure text, if any."""
        argv = self.command(args)
        done = process.run(argv, timeout=self.timeout_s, check=False)
        try:
            env = parse_envelope(done.stdout, argv)
        except ProcessError as exc:
            if done.returncode != 0:
                said = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
                return None, f"`{' '.join(argv)}` failed (exit {done.returncode}): {said[0]}"
            return None, str(exc)
        if not env.success or done.returncode != 0 or env.code != 200:
            return env, f"`{' '.join(argv)}` failed (blade code {env.code}): {env.error or 'no detail'}"
        return env, ""

    def run(self, args: Sequence[str]) -> Envelope:
        """Run one blade command; a failed envelope or exit code is an error naming blade's own words."""
        env, failure = self.answer(args)
        if failure or env is None:
            raise ProcessError(failure)
        return env

    # -- the engine contract -----------------------------------------------------------------

    def inject(self, plan: Plan) -> Handle:
        if not plan.argv:
            raise InjectionError("the blade plan has no command to run")
        uids: list[str] = []
        try:
            for argv in plan.argv:
                args = self._with_uid(argv)
                # Known before blade runs, so a create that timed out can still be destroyed.
                uids.append(args[args.index("--uid") + 1])
                env = self.run(args)
                if isinstance(env.result, str) and env.result.strip() and env.result.strip() != uids[-1]:
                    uids[-1] = env.result.strip()
            handle = self._handle(plan.fault.run_id, uids)
            self._confirm(uids)
        except MqdrillError as exc:
            if not uids:
                raise InjectionError(f"blade could not inject: {exc}") from exc
            try:
                self.recover(self._handle(plan.fault.run_id, uids))
            except MqdrillError as again:
                raise InjectionError(f"{exc} — destroying {', '.join(uids)} failed too: {again}") from exc
            raise InjectionError(f"{exc} — destroyed {', '.join(uids)}") from exc
        return handle

    def status(self, handle: Handle) -> FaultState:
        seen = [self._state(uid) for uid in handle.data.get("uids", [])]
        if seen and all(s in INJECTED for s in seen):
            return FaultState("injected", ", ".join(seen))
        if seen and all(s in ENDED for s in seen):
            return FaultState("recovered", ", ".join(seen))
        return FaultState("partial" if seen else "unknown", ", ".join(seen))

    def recover(self, handle: Handle) -> None:
        failed: list[str] = []
        errors: list[str] = []
        for uid in handle.data.get("uids", []):
            try:
                retry(
                    partial(self._destroy, uid),
                    attempts=self.attempts,
                    delay_s=1.0,
                    clock=self.clock,
                    retry_on=(ProcessError,),
                )
            except ProcessError as exc:
                failed.append(uid)
                errors.append(str(exc))
        if failed:
            raise RecoveryError(
                f"blade could not destroy {', '.join(failed)}: {'; '.join(errors)}; "
                "retry with `mqdrill recover` or `blade destroy <uid>` "
                "(each fault also ends by its own --timeout)",
                leftovers=[f"blade:{uid}" for uid in failed],
            )

    # -- internals ---------------------------------------------------------------------------

    def _with_uid(self, argv: Sequence[str]) -> list[str]:
        args = list(argv[1:] if argv and os.path.basename(argv[0]) == "blade" else argv)
        if args[:1] != ["create"]:
            raise InjectionError(f"a blade plan may only run `blade create`, not `{' '.join(argv)}`")
        if "--uid" not in args:
            args += ["--uid", uuid.uuid4().hex[:16]]
        return args

    def _handle(self, run_id: str, uids: Sequence[str]) -> Handle:
        return Handle(
            engine=self.name,
            run_id=run_id,
            ref=", ".join(uids),
            data={"uids": list(uids), "blade": self.blade},
        )

    def _state(self, uid: str) -> str:
        env = self.run(["status", "--uid", uid])
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

    def _destroy(self, uid: str) -> None:
        _, failure = self.answer(["destroy", uid])
        if not failure:
            return
        # Destroying twice, or after blade's own --timeout ended it, or an experiment whose create
        # never got as far as a record, is not a failure: ask blade what it knows of the UID.
        env, status_failure = self.answer(["status", "--uid", uid])
        if env is not None and not env.success and "not found" in env.error.lower():
            return
        ended = env is not None and isinstance(env.result, dict) and str(env.result.get("Status")) in ENDED
        if ended and not status_failure:
            return
        raise ProcessError(failure)
