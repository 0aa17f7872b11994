"""Running Chaos Toolkit's own validator, `chaos validate`, on exported experiments.

`chaos validate` checks that a process provider's executable is on PATH; the machine that runs
an experiment has `blade`, test machines get a stand-in that does nothing (``blade_dir``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CHAOS = str(Path(sys.executable).parent / "chaos")


def chaos_validate(path: Path, *, blade_dir: Path | None) -> subprocess.CompletedProcess[str]:
    """`chaos validate FILE`, offline (no version check, no log file), with or without `blade` on PATH."""
    path_dirs = [str(Path(sys.executable).parent), "/usr/bin", "/bin"]
    if blade_dir is not None:
        path_dirs.insert(0, str(blade_dir))
    env = {**os.environ, "PATH": os.pathsep.join(path_dirs)}
    argv = [CHAOS, "--no-version-check", "--no-log-file", "validate", str(path)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env, cwd=path.parent)


def stand_in_blade(d: Path) -> Path:
    """Put a `blade` that does nothing in ``d``; return ``d`` (for ``chaos_validate(blade_dir=...)``)."""
    blade = d / "blade"
    blade.write_text("#!/bin/sh\nexit 0\n")
    blade.chmod(0o755)
    return d
