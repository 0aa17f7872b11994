"""Running a suite: drills in worker threads, at most ``parallel`` at once and never two that
overlap; Ctrl-C stops starting drills, makes the running ones unwind and recover, and leaves a
suite directory that ``--resume`` completes."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bridge.errors import InputError
from bridge.paths import reports_dir
from bridge.runner.lifecycle import run_drill
from bridge.runner.ports import Progress, RunnerDeps
from bridge.signals import shielded
from bridge.spec.catalog import load_catalog
from bridge.spec.loader import load_document, suite_drills
from bridge.spec.models import Drill, EngineName, Suite
from bridge.suite.schedule import Resource, SuiteItem, next_startable, resources
from bridge.suite.suitedir import DrillOutcome, SuiteDir, read_outcome

DepsFactory = Callable[[Drill, Callable[[Progress], None]], RunnerDeps]


@dataclass
class SuiteOptions:
    parallel: int = 1
    out: Path | None = None  # the suite directory itself
    resume: Path | None = None  # an earlier suite directory to complete
    engine: EngineName | None = None
    production_windows: bool = False  # use each drill's own windows, not the suite's short ones
    on_progress: Callable[[str, Progress], None] = field(default=lambda key, p: None)
    on_drill_done: Callable[[DrillOutcome], None] = field(default=lambda o: None)
    after_suite: Callable[[Path], None] | None = None  # the suite report


@dataclass
class SuiteResult:
    suite_id: str
    suite_dir: Path
    name: str
    outcomes: list[DrillOutcome]
    interrupted: bool = False
    durations: dict[str, float] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 all as expected · 1 a verdict differs · 2 an error stopped drills · 3 aborted by a guard · 130 Ctrl-C."""
        if self.interrupted:
            return 130
        if any(o.status in ("failed", "interrupted", "pending") for o in self.outcomes):
            return 2
        if any(o.status == "aborted" for o in self.outcomes):
            return 3
        return 1 if any(o.mismatch for o in self.outcomes) else 0


def load_items(path: str | Path, options: SuiteOptions) -> tuple[Suite, list[SuiteItem]]:
    doc = load_document(path)
    if not isinstance(doc, Suite):
        raise InputError(f"{path}: is a Drill; `mqdrill suite` takes a Suite (use `mqdrill run` for a drill)")
    if options.production_windows:
        doc = doc.model_copy(update={"windows": None})
    if options.engine is not None:
        doc = doc.model_copy(update={"engine": options.engine})
    return doc, [SuiteItem(i, src, d) for i, (src, d) in enumerate(suite_drills(doc, path))]


def _prepare(items: list[SuiteItem], suite: Suite, options: SuiteOptions) -> SuiteDir:
    if options.resume is not None:
        meta = SuiteDir.load_meta(options.resume)
        sdir = SuiteDir(options.resume, suite_id=str(meta["suite_id"]), name=str(meta["name"]))
        sdir.meta["started_at"] = meta.get("started_at", sdir.meta["started_at"])
    else:
        suite_id = f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{suite.name}-{secrets.token_hex(2)}"
        path = options.out or reports_dir() / "suites" / suite_id
        if path.exists() and any(path.iterdir()):
            raise InputError(f"{path}: suite directory exists and is not empty (use --resume to complete it)")
        sdir = SuiteDir(path, suite_id=suite_id, name=suite.name)
    for item in items:
        outcome = DrillOutcome(
            item.key,
            item.drill.display_name,
            item.source,
            item.drill.scenario,
            item.drill.expected,
            item.key,
            "pending",
        )
        sdir.outcomes[item.key] = read_outcome(sdir.path, outcome) if options.resume else outcome
    sdir.save()
    return sdir


def _set_aside(run_dir: Path) -> None:
    """An unfinished attempt is kept for the record, out of the way of the new one."""
    n = 1
    while (aside := run_dir.with_name(f"{run_dir.name}.attempt-{n}")).exists():
        n += 1
    run_dir.rename(aside)


def run_suite(path: str | Path, options: SuiteOptions, deps_for: DepsFactory) -> SuiteResult:
    suite, items = load_items(path, options)
    catalog = load_catalog()
    footprint = {i.index: resources(i.drill, catalog) for i in items}
    sdir = _prepare(items, suite, options)
    pending = [i for i in items if sdir.outcomes[i.key].status != "completed"]
    for item in pending:
        if (sdir.path / item.key).exists():
            _set_aside(sdir.path / item.key)
    cancel = threading.Event()
    running: dict[int, tuple[threading.Thread, frozenset[Resource]]] = {}
    durations: dict[str, float] = {}
    lock = threading.Lock()

    def work(item: SuiteItem) -> None:
        started = time.monotonic()
        deps = deps_for(item.drill, lambda p: options.on_progress(item.key, p))
        deps.cancel = cancel
        outcome = sdir.outcomes[item.key]
        outcome.status = "running"
        sdir.save()
        try:
            run_drill(item.drill, deps, out=sdir.path / item.key, source=item.source)
        except Exception as exc:  # noqa: BLE001 - one drill's error is recorded; the suite goes on
            outcome.status, outcome.reason = "failed", str(exc)
        if (sdir.path / item.key / "run.json").exists():
            read_outcome(sdir.path, outcome)
        with lock:
            durations[item.key] = time.monotonic() - started
        sdir.save()
        options.on_drill_done(outcome)

    def on_signal(signum: int) -> None:
        cancel.set()

    with shielded(on_signal):
        while pending or running:
            for index, (thread, _) in list(running.items()):
                if not thread.is_alive():
                    thread.join()
                    del running[index]
            while not cancel.is_set() and pending and len(running) < options.parallel:
                startable = next_startable(pending, [r for _, r in running.values()], footprint)
                if startable is None:
                    break
                pending.remove(startable)
                thread = threading.Thread(target=work, args=(startable,), name=f"drill-{startable.key}", daemon=True)
                running[startable.index] = (thread, footprint[startable.index])
                thread.start()
            if cancel.is_set() and not running:
                break
            time.sleep(0.1)
    interrupted = cancel.is_set()
    sdir.finish("interrupted" if interrupted else "completed")
    if options.after_suite is not None and not interrupted:
        options.after_suite(sdir.path)
    outcomes = [sdir.outcomes[i.key] for i in items]
    return SuiteResult(str(sdir.meta["suite_id"]), sdir.path, suite.name, outcomes, interrupted, durations)
