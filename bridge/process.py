"""The process boundary: the only module that calls :mod:`subprocess`.

Commands are argv lists, never shell strings; every call has a timeout. Failures become
:class:`bridge.errors.ProcessError` raised from the original exception.
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
) -> Completed:
    """Run ``argv`` to completion; raise :class:`ProcessError` on timeout, or non-zero exit if ``check``."""
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
