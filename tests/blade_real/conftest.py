"""The real ``blade`` 1.8.0 (with chaos_os and its OS spec), built by scripts/setup.d/70-blade.sh.

``real_blade`` builds it first when the cache has none (about 3 CPU-minutes cold), so the tier
runs on a fresh machine too. Every test gets its own blade data file
(``CHAOSBLADE_DATAFILE_PATH``): blade's ``--timeout`` shell inherits it, so records, destroys
and the ``recover --all`` sweep stay within the test. Targets are plain ``sleep`` processes
(their command lines hold no "blade", which blade would skip) or the embedded environment.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VERSION = "1.8.0"
STEP = REPO / "scripts" / "setup.d" / "70-blade.sh"


def blade_dir() -> Path:
    root = os.environ.get("MQDRILL_TESTBED_CACHE") or str(Path.home() / ".cache" / "mqdrill" / "testbed")
    return Path(root) / f"blade-{VERSION}"


@pytest.fixture(scope="session")
def real_blade() -> Path:
    exe = blade_dir() / "blade"
    if not (exe.is_file() and (blade_dir() / f".built-{VERSION}").is_file()):
        done = subprocess.run(["bash", str(STEP)], capture_output=True, text=True, timeout=3600, check=False)
        assert done.returncode == 0, f"building blade {VERSION} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return exe


@pytest.fixture
def blade_env(real_blade: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This test's blade: its executable for mqdrill, its own data file, its own ledger."""
    env = {
        "MQDRILL_BLADE": str(real_blade),
        "CHAOSBLADE_DATAFILE_PATH": str(tmp_path / "chaosblade.dat"),
        "MQDRILL_LEDGER": str(tmp_path / "ledger"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A harmless target with a unique command line (blade's --process is a substring match)."""
    token = str(os.getpid() * 1000 + (id(object()) % 1000))
    proc = subprocess.Popen(["sleep", f"7{token}"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait(timeout=10)
