"""`mqdrill validate` and `plan` refuse bad rocketmq-canary and prometheus declarations with file,
line and field, never a traceback; a PromQL full of shell metacharacters is simply accepted text."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DRILL = """apiVersion: mqdrill/v1
kind: Drill
scenario: broker-unavailable
app: orders
steady_state:
  probes:
    - kind: prometheus
      name: notifier
      url: {url}
      slis:
        - name: hostile
          query: {query}
          unit: count
          min: 0
    - kind: rocketmq-canary
      name: canary
      endpoint: {endpoint}
      topic: T_ORDER
# an SLI read once a second, held to 99 %, needs 100 rows (and 2 s) in each window
windows: {{baseline: 120s, fault: 120s}}
"""


def _mqdrill(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True, timeout=60, cwd=ROOT)


@pytest.mark.parametrize("command", ["validate", "plan"])
@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"url": "localhost:9095"}, "bad.yaml:9 at `steady_state.probes[0].url`"),
        ({"endpoint": "http://127.0.0.1:8081"}, "bad.yaml:17 at `steady_state.probes[1].endpoint`"),
        ({"query": "'sum(up'"}, "bad.yaml:12 at `steady_state.probes[0].slis[0].query`"),
        ({"kind": "rocketmq-canari"}, "bad.yaml:15 at `steady_state.probes[1].kind`"),
    ],
)
def test_bad_declarations_are_refused_with_file_line_and_field(
    command: str, fields: dict[str, str], where: str, tmp_path: Path
) -> None:
    values = {"url": "http://127.0.0.1:9095", "query": "up", "endpoint": "127.0.0.1:18081", **fields}
    text = DRILL.format(**values)
    if "kind" in fields:
        text = text.replace("kind: rocketmq-canary", f"kind: {fields['kind']}")
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    done = _mqdrill(command, str(path))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert where in done.stderr, done.stderr


def test_a_promql_with_shell_metacharacters_is_accepted_as_text(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    query = f"'up{{job=\"$(touch {marker})\"}} or vector(`touch {marker}`) > bool 0'"
    path = tmp_path / "ok.yaml"
    path.write_text(DRILL.format(url="http://127.0.0.1:9095", query=query, endpoint="127.0.0.1:18081"))
    for command in ("validate", "plan"):
        done = _mqdrill(command, str(path))
        assert done.returncode == 0, done.stderr
    assert not marker.exists()
