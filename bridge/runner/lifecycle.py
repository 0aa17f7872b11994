"""One drill, start to end: preflight (targets, then the steady state over the first seconds of
the baseline) → baseline → inject+confirm → fault → recover+confirm → recovery → collect → analysis.

Recovery is guaranteed by structure: right after each confirmed inject its recovery is pushed
onto an ExitStack, the body sits in try/finally, and signals become an exception (bridge.signals)
so they unwind through it. One failed recovery never skips the others; every step is an event in
the run directory as it happens, and every active fault is in the ledger until its recovery is
confirmed.
"""

from __future__ import annotations

import signal
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.engines.base import Engine, Handle, Plan
from bridge.engines.planning import plan_drill
from bridge.errors import InjectionError, MqdrillError, PreflightError, RecoveryError
from bridge.paths import ledger_dir, reports_dir
from bridge.runner.ledger import Ledger
from bridge.runner.ports import ProbeHandle, Progress, RunnerDeps
from bridge.runner.rundir import RunDir
from bridge.signals import Interrupted, interrupts_raise, shielded
from bridge.spec.catalog import load_catalog
from bridge.spec.models import Drill
from bridge.spec.resolve import ResolvedDrill, resolve


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    status: str  # completed | aborted | failed
    reason: str | None = None
    recovery_errors: list[str] = field(default_factory=list)
    interrupted: int | None = None  # the signal, when one ended the run


class _Aborted(Exception):
    """The guard SLO was breached: stop the fault now."""


def run_meta(resolved: ResolvedDrill, drill: Drill) -> dict[str, Any]:
    from bridge.probes.probeset import objectives_for

    catalog = load_catalog()
    scenario = catalog.scenario(drill.scenario)
    return {
        "run_id": resolved.run_id,
        "drill": drill.display_name,
        "scenario": drill.scenario,
        "causes": [f.cause for f in resolved.faults],
        "engine": drill.engine,
        "app": drill.app,
        "dependency": drill.dependency or resolved.component,
        "component": resolved.component,
        "channel": drill.channel,
        "expected": drill.expected,
        "slo": drill.steady_state.slo.model_dump(),
        # Each operation's own bar (success, latency p95 or eventual delay, lag); readers of older
        # run directories without it fall back to `slo` for every operation.
        "objectives": objectives_for(drill),
        "windows": {
            "baseline_s": drill.windows.baseline,
            "fault_s": drill.windows.fault,
            "recovery_s": drill.windows.recovery,
        },
        "predicted_impact": scenario.predicted_impact,
        "protections": [
            {"name": p, "title": catalog.protections[p].title, "description": catalog.protections[p].description}
            for p in scenario.protections
        ],
        **analysis_meta(drill),
    }


def analysis_meta(drill: Drill) -> dict[str, Any]:
    """What the analysis needs beyond the SLO to judge from the run directory alone: the probe's
    schedule and bounds (each row's outcome interval), the warm-up, and the drill's tolerances."""
    probe = drill.steady_state.probe
    return {
        "probe": {"rate": probe.rate, "timeout_s": probe.timeout, "operations": list(probe.operations)},
        "warmup_s": drill.windows.warmup,
        "tolerances": drill.tolerances.model_dump(),
    }


class DrillRun:
    """The state of one run; `run_drill` drives it."""

    def __init__(self, drill: Drill, resolved: ResolvedDrill, plans: list[Plan], rundir: RunDir, deps: RunnerDeps):
        self.drill, self.resolved, self.plans, self.rundir, self.deps = drill, resolved, plans, rundir, deps
        self.ledger = Ledger(ledger_dir())
        self.recovery_errors: list[str] = []
        self.probe: ProbeHandle | None = None

    # -- waiting, with progress and the guard ---------------------------------------------------
    def wait(self, seconds: float, phase: str, *, guard: bool = False) -> None:
        deps = self.deps
        end = deps.clock() + seconds
        guard_cfg = self.drill.safety.guard
        phase_start = deps.clock()
        while (remaining := end - deps.clock()) > 0:
            if deps.cancel is not None and deps.cancel.is_set():
                raise Interrupted(signal.SIGINT)
            stats = self.probe.stats(5.0) if self.probe is not None else None
            deps.progress(Progress(phase, remaining, stats))
            if (
                guard
                and guard_cfg is not None
                and self.probe is not None
                and deps.clock() - phase_start >= guard_cfg.for_
            ):
                window = self.probe.stats(guard_cfg.for_)
                ratio = window.success_ratio
                if window.count > 0 and ratio is not None and ratio < guard_cfg.success_ratio_min:
                    raise _Aborted(
                        f"guard: success ratio {ratio:.3f} below {guard_cfg.success_ratio_min} for {guard_cfg.for_:g}s"
                    )
            deps.sleep(min(deps.tick_s, remaining))

    # -- faults ---------------------------------------------------------------------------------
    def inject_all(self, faults: ExitStack) -> None:
        for plan in self.plans:
            engine = self.deps.engine_for(plan.engine)
            ref = f"{plan.fault.cause}@{plan.fault.component}"
            self.rundir.event("inject", state="requested", engine=plan.engine, ref=ref, cause=plan.fault.cause)
            # A signal between "injected" and "its recovery is on the stack" would lose the fault:
            # hold signals until the recovery is registered, then act on them.
            with shielded() as received:
                where = str(self.rundir.path)
                ahead = self.ledger.add_planned(
                    engine, plan, run_dir=where, deadline=self.deps.clock() + plan.fault.duration_s
                )
                try:
                    handle = engine.inject(plan)
                except MqdrillError as exc:
                    self.rundir.event("inject", state="failed", engine=plan.engine, ref=ref, error=str(exc))
                    if ahead is not None:  # what a failed rollback left: recovered (and recorded) like a fault
                        faults.callback(self.recover_one, engine, ahead.handle)
                    raise InjectionError(f"could not inject {ref}: {exc}") from exc
                deadline = self.deps.clock() + plan.fault.duration_s
                self.ledger.replace(ahead, handle, run_dir=where, deadline=deadline)
                faults.callback(self.recover_one, engine, handle)
            self.rundir.event(
                "inject",
                state="confirmed",
                engine=plan.engine,
                ref=handle.ref,
                cause=plan.fault.cause,
                deadline=round(deadline, 3),
            )
            if received:
                raise Interrupted(received[0])

    def recover_one(self, engine: Engine, handle: Handle) -> None:
        """Recover one fault and confirm; never raises, so the other recoveries still run."""
        self.rundir.event("recover", state="requested", engine=handle.engine, ref=handle.ref)
        try:
            engine.recover(handle)
            state = engine.status(handle)
            if state.status not in ("recovered", "unknown"):
                raise RecoveryError(f"{handle.ref} still {state.status}: {state.detail}")
        except Exception as exc:  # noqa: BLE001 - every failure is recorded; the others still recover
            message = f"{handle.engine} {handle.ref}: {exc}"
            self.recovery_errors.append(message)
            self.rundir.event("recover", state="failed", engine=handle.engine, ref=handle.ref, error=str(exc))
            return
        self.ledger.remove(handle)
        # the engine's own words on how it confirmed (the local engine: the business path came back)
        detail = {"detail": state.detail} if state.detail else {}
        self.rundir.event("recover", state="confirmed", engine=handle.engine, ref=handle.ref, **detail)


def _open_rundir(resolved: ResolvedDrill, drill: Drill, out: Path | None, deps: RunnerDeps) -> RunDir:
    path = out if out is not None else reports_dir() / "runs" / resolved.run_id
    rundir = RunDir(path, clock=deps.clock)
    rundir.create(drill, run_meta(resolved, drill))
    return rundir


def run_drill(
    drill: Drill, deps: RunnerDeps, *, out: Path | None = None, source: str = "drill", run_id: str | None = None
) -> RunResult:
    """Run one drill to the end and return how it ended; the run directory holds the evidence."""
    catalog = load_catalog()
    resolved = resolve(drill, catalog, run_id=run_id, source=source)
    plans = plan_drill(resolved, catalog)
    rundir = _open_rundir(resolved, drill, out, deps)
    run = DrillRun(drill, resolved, plans, rundir, deps)
    result = RunResult(resolved.run_id, rundir.path, "failed")
    services, faults = ExitStack(), ExitStack()
    try:
        with interrupts_raise():
            _body(run, services, faults, result)
    except Interrupted as exc:
        result.status, result.reason, result.interrupted = "aborted", str(exc), exc.signum
        rundir.event("abort", reason=f"interrupted by signal {exc.signum}")
    except (PreflightError, InjectionError) as exc:
        result.status, result.reason = "failed", str(exc)
        rundir.event("abort", reason=str(exc))
    except MqdrillError as exc:
        result.status, result.reason = "failed", str(exc)
        rundir.event("abort", reason=str(exc))
    finally:
        with shielded(lambda s: deps.progress(Progress("recovering", 0, None, "signal received: recovering first"))):
            faults.close()
            services.close()
            result.recovery_errors = list(run.recovery_errors)
            if run.recovery_errors:
                result.status = "failed"
                result.reason = (result.reason + "; " if result.reason else "") + "recovery failed"
            rundir.finish(result.status, reason=result.reason, recovery_errors=result.recovery_errors)
    _after(deps, rundir.path)
    return result


def _after(deps: RunnerDeps, path: Path) -> None:
    """Analysis and report never turn a finished drill into an error: their problems are theirs."""
    if deps.after_run is None:
        return
    try:
        deps.after_run(path)
    except MqdrillError as exc:
        deps.progress(Progress("analysis", 0, None, f"analysis failed: {exc}"))


def _warm_up(run: DrillRun, seconds: float) -> None:
    """Probe traffic before the baseline, in a phase of its own that the analysis never judges."""
    if seconds > 0:
        run.rundir.event("phase", phase="warmup")
        run.wait(seconds, "warmup")


def _body(run: DrillRun, services: ExitStack, faults: ExitStack, result: RunResult) -> None:
    deps, drill, rundir = run.deps, run.drill, run.rundir
    rundir.meta.update(deps.prepare(drill))
    reason = deps.preflight(drill)
    if reason is not None:
        raise PreflightError(f"preflight: {reason}")
    probe = deps.probe_for(drill, rundir.path)
    probe.start()
    services.callback(probe.stop)
    run.probe = probe
    for collector in deps.collectors_for(drill, rundir.path):
        collector.start()
        services.callback(collector.stop)
    w = drill.windows
    _warm_up(run, w.warmup)
    rundir.event("phase", phase="baseline")
    probe.begin_baseline()
    # The steady-state check of the preflight is the start of the baseline: the same probe, the
    # same rows, no extra wall time; a failing check stops the drill before anything is injected.
    check_s = min(probe.check_s(), w.baseline)
    run.wait(check_s, "baseline")
    reason = probe.check()
    if reason is not None:
        raise PreflightError(f"preflight: the steady state does not hold before injecting: {reason}")
    run.wait(w.baseline - check_s, "baseline")
    run.inject_all(faults)
    rundir.event("phase", phase="fault")
    try:
        run.wait(w.fault, "fault", guard=True)
    except _Aborted as exc:
        rundir.event("abort", reason=str(exc))
        result.status, result.reason = "aborted", str(exc)
    with shielded() as received:
        faults.close()
    if received:
        raise Interrupted(received[0])
    rundir.event("phase", phase="recovery")
    run.wait(w.recovery, "recovery")
    rundir.event("phase", phase="done")
    if result.status != "aborted":
        result.status = "completed"
