"""The process boundary: the only module that calls :mod:`subprocess`.

Commands are argv lists, never shell strings; every call has a timeout. Failures become
:class:`bridge.errors.ProcessError` raised from the original exception.

Nothing here ever signals a process group: a command that times out is killed alone. That
matters for ``blade``: ``blade create --timeout N`` leaves a ``sleep N; blade destroy`` shell
behind in blade's process group and session — the fault's only hard end. ``run(...,
new_session=True)`` starts such a command in a session of its own, so neither mqdrill's death
nor a group kill aimed at mqdrill (a CI timeout, a supervisor) reaches that shell.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bridge.errors import ProcessError


@dataclass(frozen=True)
class Completed:
    """What a finished command left behind."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    input_text: str | None = None,
    new_session: bool = False,
) -> Completed:
    """Run ``argv`` to completion; raise :class:`ProcessError` on timeout, or non-zero exit if ``check``.

    ``new_session`` starts it in its own session and process group (what it leaves behind then
    outlives us and any group kill aimed at us); on a timeout only the command itself is killed.
    """
    argv = [str(a) for a in argv]
    full_env = {**os.environ, **env} if env is not None else None
    try:
        done = subprocess.run(  # noqa: S603 - argv list, no shell
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            cwd=cwd,
            input=input_text,
            check=False,
            start_new_session=new_session,
        )
    except FileNotFoundError as exc:
        raise ProcessError(f"command not found: {argv[0]}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ProcessError(f"command timed out after {timeout:g}s: {' '.join(argv)}") from exc
    result = Completed(tuple(argv), done.returncode, done.stdout, done.stderr)
    if check and done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise ProcessError(f"command failed with exit {done.returncode}: {' '.join(argv)}: {' / '.join(tail)}")
    return result


def spawn(
    argv: Sequence[str],
    *,
    log_file: str | Path,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    new_session: bool = True,
) -> int:
    """Start a long-lived process detached from us, its output appended to ``log_file``; return its pid.

    ``new_session`` puts it in its own session so our Ctrl-C does not reach it: services and
    watchdogs must outlive mqdrill.
    """
    argv = [str(a) for a in argv]
    full_env = {**os.environ, **env} if env is not None else None
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        try:
            proc = subprocess.Popen(  # noqa: S603 - argv list, no shell
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=full_env,
                cwd=cwd,
                start_new_session=new_session,
            )
        except FileNotFoundError as exc:
            raise ProcessError(f"command not found: {argv[0]}") from exc
    return proc.pid
