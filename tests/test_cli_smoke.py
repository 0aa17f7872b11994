import subprocess
import sys


def test_help_lists_subcommands() -> None:
    out = subprocess.run([sys.executable, "-m", "bridge", "--help"], capture_output=True, text=True, check=True)
    assert "validate" in out.stdout and "plan" in out.stdout
