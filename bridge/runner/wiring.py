"""The real parts a drill run uses: engines by name, the open-loop probe and its preflight, the
collectors (the embedded environment's endpoints and logs, or Kubernetes pod logs and
Prometheus), and the analysis and report afterwards. `bridge.runner.lifecycle` only sees the
small protocols in `bridge.runner.ports`; this module is where they meet the real things.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bridge.collectors.host import BusySpan
from bridge.discovery.guard import check_fault, peer_selector  # the selector guard before any inject (issue 11)
from bridge.engines.base import Engine
from bridge.engines.registry import get_engine
from bridge.errors import RecoveryError
from bridge.runner.ports import Collector, LiveStats, ProbeHandle, Progress, RunnerDeps
from bridge.spec.models import Drill

KUBERNETES_ENGINES = ("chaosmesh", "chaosblade", "blade")


class ProbeAdapter:
    """The drill's probes as the runner sees it: live stats folded to the worst operation."""

    def __init__(self, drill: Drill, run_dir: Path) -> None:
        from bridge.probes.probeset import probe_set
        from bridge.probes.runner import ProbeRunner

        self.probes = probe_set(drill, run_id=_run_id(run_dir))
        self.runner = ProbeRunner(self.probes, run_dir / "probe.csv")
        infos = self.probes.operations()
        self.ops = tuple(i.name for i in infos)
        # The latency shown and guarded is the first answer-time operation's (a delay is not a latency).
        self.latency_op = next((i.name for i in infos if i.measure == "latency"), self.ops[0] if self.ops else "")
        self.drill = drill
        self.busy = BusySpan()

    def start(self) -> None:
        self.runner.start()

    def stats(self, window_s: float) -> LiveStats:
        snap = self.runner.stats(window_s)
        figures = [snap.op(op) for op in self.ops]
        ratios = [f.success_ratio for f in figures if f.success_ratio is not None]
        lat = snap.op(self.latency_op)
        return LiveStats(count=lat.count, success_ratio=min(ratios) if ratios else None, p95_ms=lat.p95_ms)

    def check_s(self) -> float:
        from bridge.probes.runner import preflight_duration_s
        from bridge.spec.sizing import preflight_check_s

        # The span validate sized the baseline for (bridge.spec.sizing): the shop preset by the drill
        # language's arithmetic, declared probes per operation from each one's own rate and bound
        # (never shorter than the probe set's own figure, which divides by the rates' sum).
        if self.drill.steady_state.probes:
            return max(preflight_duration_s(self.probes), preflight_check_s(self.drill))
        return preflight_check_s(self.drill)

    def begin_baseline(self) -> None:
        self.runner.judge_from_now()
        self.busy.begin()

    def check(self) -> str | None:
        """The SLO over the rows completed since the baseline began: the warm-up's rows are not
        judged (a canary's first message, sent while its consumer registers, may fail), except a
        Prometheus probe's read-back history, which is what lets it be judged at once."""
        from bridge.probes.runner import judge

        reasons = judge(self.runner.judged_stats(), self.probes)
        if not reasons:
            return None
        return "; ".join([*reasons, *machine_note(self.busy)])

    def stop(self) -> None:
        self.runner.stop()


class _LogSpan:
    """The log collector behind the runner's start/stop protocol."""

    def __init__(self, collector: object) -> None:
        self.collector = collector

    def start(self) -> None:
        self.collector.start()  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.collector.stop()  # type: ignore[attr-defined]


def machine_note(busy: BusySpan) -> list[str]:
    """A refused preflight names a saturated host (DESIGN: a drill on a busy machine says so)."""
    from bridge.analysis.machine import saturated_preflight_note

    span = busy.since_begin()
    note = None if span is None else saturated_preflight_note(*span)
    return [] if note is None else [note]


def _run_id(run_dir: Path) -> str:
    try:
        return str(json.loads((run_dir / "run.json").read_text())["run_id"])
    except (OSError, ValueError, KeyError):
        return run_dir.name


def prepare(drill: Drill) -> dict[str, Any]:
    """Switch the embedded environment's protections as a local drill asks; what is on goes into run.json.

    Elsewhere (a cluster) mqdrill cannot switch them: what the drill declares is recorded as it is.
    """
    if drill.engine != "local":
        return {} if drill.protections_on is None else {"protections_on": list(drill.protections_on)}
    from bridge.env.config import default_config
    from bridge.env.protect import set_protections

    cfg = default_config()
    if drill.protections_on is not None:
        cfg = set_protections(cfg, drill.protections_on)
    return {"protections_on": list(cfg.protections)}


def preflight(drill: Drill, *, kubeconfig: str | None = None, context: str | None = None) -> str | None:
    """None when the drill's targets are found (and, locally, the environment is healthy), else why not.

    On Kubernetes it connects as the engines will (``kubeconfig``/``context`` of `mqdrill run`),
    so the check looks at the cluster the faults will go to."""
    if drill.engine == "local":
        return _local_targets_down(drill)
    if drill.engine != "blade" or not drill.targets.services:
        return _kubernetes_targets(drill, kubeconfig=kubeconfig, context=context)
    from bridge.engines import blade_host

    # blade on a host: when the embedded environment is that host, check it like the local engine does
    return blade_host.embedded_preflight(list(drill.targets.services)) if blade_host.plays_host() else None


def _local_targets_down(drill: Drill) -> str | None:
    """The services this drill acts on are up, and no other fault is on them right now.

    Only the drill's own targets are checked: in a parallel suite another drill may have a
    different component down at this moment, which is that drill's business; whether the shop
    still works is what the steady-state check at the start of the baseline decides.
    """
    from bridge.engines.local_plan import actions
    from bridge.env import faultlog
    from bridge.env.config import TARGET_SERVICES, default_config
    from bridge.env.lifecycle import status
    from bridge.spec.catalog import load_catalog
    from bridge.spec.resolve import resolve

    cfg = default_config()
    targets = {a.service for f in resolve(drill, load_catalog(), run_id="preflight").faults for a in actions(f)}
    parts = status(cfg)["services"]
    # A user-named service must be one the environment runs; the built-in ones may be absent on
    # purpose (an external RocketMQ), which the environment's own checks report.
    unknown = sorted(t for t in targets if t not in parts and t not in TARGET_SERVICES)
    if unknown:
        return (
            f"the embedded environment runs no service named {', '.join(unknown)}; "
            f"it runs: {', '.join(sorted(parts))} (targets.services and app name services it runs)"
        )
    down = sorted(t for t in targets if t in parts and not (parts[t]["running"] and parts[t]["state"] != "T"))
    if down:
        return f"target service(s) not running in the embedded environment: {', '.join(down)}; run `mqdrill env up`"
    busy = []
    for fid in faultlog.active_ids(cfg):
        try:
            if faultlog.load(cfg, fid).get("service") in targets:
                busy.append(fid)
        except RecoveryError:
            continue  # recovered and removed between the listing and now
    if busy:
        return f"another fault is active on this drill's targets: {', '.join(busy)}"
    return None


def _kubernetes_targets(drill: Drill, *, kubeconfig: str | None, context: str | None) -> str | None:
    """Every fault's targets exist, and `mode: all` stays within the blast radius."""
    from bridge.k8s import Kube, KubeOptions
    from bridge.spec.catalog import load_catalog
    from bridge.spec.resolve import resolve

    kube = Kube.connect(KubeOptions(kubeconfig=kubeconfig, context=context))
    try:
        for fault in resolve(drill, load_catalog(), run_id="preflight").faults:
            t = fault.target
            pods = kube.list_pods(namespace=t.namespace, labels=dict(t.labels))
            names = {p["metadata"]["name"] for p in pods}
            if t.pods:
                names &= set(t.pods)
            where = f"namespace {t.namespace} ({', '.join(f'{k}={v}' for k, v in t.labels.items()) or 'named pods'})"
            if not names:
                return f"no pod matches the targets of {fault.cause} in {where}"
            if (peer := peer_selector(fault)) is not None:  # targets.client, in its own namespace
                pods = [*pods, *kube.list_pods(namespace=peer[0], labels=peer[1] or None)]
            if (refusal := check_fault(pods, fault)) is not None:  # only the server it names (issue 11)
                return f"{fault.cause}: {refusal}"
            if t.mode == "all" and len(names) > drill.safety.max_pods:
                limit = drill.safety.max_pods
                return f"mode all would hit {len(names)} pods in {where}, more than safety.max_pods={limit}"
    finally:
        kube.close()
    return None


def local_collectors(drill: Drill, run_dir: Path) -> list[Collector]:
    """Scrape the demo shop's and the broker's Prometheus endpoints; copy the services' logs for the span."""
    from bridge.collectors.host import HOST_TARGET, with_host
    from bridge.collectors.logs import LogCollector, LogSource
    from bridge.collectors.scrape import Scraper, ScrapeTarget
    from bridge.env import rocketmq
    from bridge.env.config import default_config

    cfg = default_config()
    targets = [
        ScrapeTarget("frontend", f"{cfg.url('frontend')}/metrics"),
        ScrapeTarget("cartservice", f"{cfg.url('cartservice')}/metrics"),
        ScrapeTarget("broker", f"{cfg.url('broker_metrics')}/metrics"),
    ]
    rmq_logs = rocketmq.log_dir(cfg)
    sources = [
        LogSource(name, cfg.log_file(name)) for name in ("frontend", "cartservice", "proxy", "broker", "namesrv")
    ]
    sources += [
        LogSource("broker", rmq_logs / "broker.log"),
        LogSource("proxy", rmq_logs / "proxy.log"),
        LogSource("namesrv", rmq_logs / "namesrv.log"),
    ]
    return [
        Scraper([*targets, HOST_TARGET], run_dir / "metrics.csv", interval_s=2.0, fetch=with_host()),
        _LogSpan(LogCollector(sources, run_dir / "logs")),
    ]


def kubernetes_collectors(
    drill: Drill, run_dir: Path, *, kubeconfig: str | None = None, context: str | None = None
) -> list[Collector]:
    from bridge.collectors.kubernetes import collectors_for_drill
    from bridge.k8s import Kube, KubeOptions
    from bridge.spec.catalog import load_catalog
    from bridge.spec.resolve import resolve

    catalog = load_catalog()
    resolved = resolve(drill, catalog, run_id=_run_id(run_dir))
    kube = Kube.connect(KubeOptions(kubeconfig=kubeconfig, context=context))
    return [*collectors_for_drill(kube, resolved, catalog, run_dir), host_collector(run_dir)]


def host_collector(run_dir: Path) -> Collector:
    """The probe's own machine (load, CPU busy) into metrics.csv; started last, so it stops first and
    has closed the file before a collector that appends at its stop (Prometheus) writes."""
    from bridge.collectors.host import HOST_TARGET, with_host
    from bridge.collectors.scrape import Scraper

    return Scraper([HOST_TARGET], run_dir / "metrics.csv", interval_s=2.0, fetch=with_host())


def collectors_for(
    drill: Drill, run_dir: Path, *, kubeconfig: str | None = None, context: str | None = None
) -> list[Collector]:
    if drill.engine == "local":
        return local_collectors(drill, run_dir)
    if drill.engine == "blade" and drill.targets.services:
        from bridge.engines.blade_host import plays_host

        # blade on a host: the embedded environment's endpoints and logs when it is that host,
        # else nothing of ours to scrape there but the probe's machine
        return local_collectors(drill, run_dir) if plays_host() else [host_collector(run_dir)]
    return kubernetes_collectors(drill, run_dir, kubeconfig=kubeconfig, context=context)


def analyse(run_dir: Path) -> None:
    from bridge.analysis import write_verdict

    write_verdict(run_dir)


def analyse_and_report(run_dir: Path) -> None:
    from bridge.report.build import analyse_and_report as build

    build(run_dir)


def suite_report(suite_dir: Path) -> None:
    """Every drill's report and the suite report (dependency matrix), generated in parallel."""
    from bridge.report.build import report_suite

    report_suite(suite_dir)


def engine_options(
    name: str,
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    force_clean: bool = False,
    recover_wait_s: float | None = None,
) -> dict[str, object]:
    """Constructor options an engine understands: the cluster connection for the Kubernetes engines
    (``blade`` included: its ``create k8s`` talks to the cluster itself), force-clean of stuck
    finalizers only when the user asked for it, and a fixed recovery wait."""
    if name == "blade":
        return {"kubeconfig": kubeconfig, "context": context}
    if name in ("chaosmesh", "chaosblade"):
        opts: dict[str, object] = {"kubeconfig": kubeconfig, "context": context}
        opts |= {"force_clean": True} if force_clean else {}
        return opts | ({"recover_wait_s": recover_wait_s} if recover_wait_s is not None else {})
    return {}


def engine_cache(**options: object) -> Callable[[str], Engine]:
    """One engine instance per name for the whole drill (engines may hold connections)."""
    made: dict[str, Engine] = {}

    def engine_for(name: str) -> Engine:
        if name not in made:
            made[name] = get_engine(name, **engine_options(name, **options))  # type: ignore[arg-type]
        return made[name]

    return engine_for


def build_deps(
    drill: Drill,
    *,
    progress: Callable[[Progress], None] | None = None,
    report: bool = True,
    kubeconfig: str | None = None,
    context: str | None = None,
) -> RunnerDeps:
    """The deps of a real run; ``report`` False writes only verdict.json (a suite reports at the end)."""
    probe_for: Callable[[Drill, Path], ProbeHandle] = ProbeAdapter
    # The same cluster for every part of the run: target check, engines and pod-log collectors.
    return RunnerDeps(
        engine_for=engine_cache(kubeconfig=kubeconfig, context=context),
        probe_for=probe_for,
        preflight=partial(preflight, kubeconfig=kubeconfig, context=context),
        prepare=prepare,
        collectors_for=partial(collectors_for, kubeconfig=kubeconfig, context=context),
        after_run=analyse_and_report if report else analyse,
        progress=progress or (lambda p: None),
    )
