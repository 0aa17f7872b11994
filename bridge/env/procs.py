"""Detached service processes: pid files, liveness, signals and stopping.

A pid file holds ``<pid> <starttime>`` (field 22 of ``/proc/<pid>/stat``) so that a recycled
pid is never mistaken for our service. Processes are started through :func:`bridge.process.spawn`
in their own session, so they outlive mqdrill; here we only signal them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bridge import process


@dataclass(frozen=True)
class ProcId:
    """A process identified beyond its pid: the kernel's start time guards against pid reuse."""

    pid: int
    start: int

    def render(self) -> str:
        return f"{self.pid} {self.start}"


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # the command name (field 2) may contain spaces; it is wrapped in parentheses
    return raw[raw.rindex(")") + 2 :].split()


def state_of(pid: int) -> str | None:
    """The kernel's one-letter state (R, S, T, Z, …) or None when the pid does not exist."""
    fields = _stat_fields(pid)
    return fields[0] if fields else None


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU-seconds the process has used so far (fields 14 and 15 of its stat), or
    None when it does not exist. Children it has not reaped are not in it."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") if fields else None


def start_time(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return int(fields[19]) if fields else None


def identify(pid: int) -> ProcId | None:
    start = start_time(pid)
    return ProcId(pid, start) if start is not None else None


def is_running(proc: ProcId) -> bool:
    """Alive and the same process: not gone, not a zombie, not a recycled pid."""
    fields = _stat_fields(proc.pid)
    return fields is not None and fields[0] not in ("Z", "X") and int(fields[19]) == proc.start


def read_pid_file(path: Path) -> ProcId | None:
    try:
        pid, start = path.read_text().split()
        return ProcId(int(pid), int(start))
    except (FileNotFoundError, ValueError):
        return None


def write_pid_file(path: Path, proc: ProcId) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(proc.render() + "\n")
    tmp.replace(path)


def running_from(path: Path) -> ProcId | None:
    """The process a pid file names, if it is still running."""
    proc = read_pid_file(path)
    return proc if proc is not None and is_running(proc) else None


def start(
    argv: Sequence[str],
    *,
    pid_file: Path,
    log_file: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> ProcId:
    """Spawn a detached service and record it in ``pid_file``."""
    pid = process.spawn(argv, log_file=log_file, env=env, cwd=cwd)
    proc = identify(pid) or ProcId(pid, 0)
    write_pid_file(pid_file, proc)
    return proc


def send(proc: ProcId, sig: int) -> bool:
    """Send ``sig`` if ``proc`` is still our process; False when it is gone."""
    if not is_running(proc):
        return False
    try:
        os.kill(proc.pid, sig)
    except ProcessLookupError:
        return False
    return True


def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


def wait_gone(proc: ProcId, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_running(proc):
            return True
        time.sleep(0.05)
    return not is_running(proc)


def stop(proc: ProcId, *, grace: float = 10.0) -> None:
    """SIGCONT (a paused process cannot exit), SIGTERM, then SIGKILL after ``grace`` seconds."""
    send(proc, signal.SIGCONT)
    if send(proc, signal.SIGTERM) and wait_gone(proc, grace):
        return
    if send(proc, signal.SIGKILL):
        wait_gone(proc, 5.0)


def stop_group(proc: ProcId, *, grace: float = 5.0) -> None:
    """Stop a process and everything in its process group (stress-ng and its workers)."""
    if is_running(proc):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        if not wait_gone(proc, grace):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            wait_gone(proc, 5.0)
