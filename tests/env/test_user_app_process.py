"""A user's own application as the environment runs it: started from its argv (no shell), healthy
on its port and path, stopped with nothing left (without RocketMQ: only the process part)."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from bridge.env import apps, procs, services
from bridge.env.config import EnvConfig
from bridge.env.userapp import parse_app

OFFSET = 6100  # a layout no e2e environment uses


def test_a_user_application_starts_answers_and_stops(tmp_path: Path) -> None:
    marker = tmp_path / "shell-ran"
    # `;` and `$(...)` are plain arguments here: a shell would create the marker
    serve = (
        "import sys, http.server as h; h.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), h.BaseHTTPRequestHandler)"
    )
    serve += ".serve_forever()"  # answers 501 to GET: healthy needs 2xx, so the health path is the TCP port here
    command = [sys.executable, "-c", serve, "{port}", f"; touch {marker}", f"$(touch {marker})", f"`touch {marker}`"]
    text = yaml.safe_dump({"name": "payments", "command": command, "cwd": str(tmp_path)})
    app = parse_app(text, "app.yaml")
    cfg = EnvConfig(state_dir=tmp_path / "s", cache_dir=tmp_path / "c", port_offset=OFFSET, user_app=app)
    assert not services.port_open(cfg.user_app_port, 0.2)
    try:
        apps.start_wait(cfg, ["payments"], 20)
        assert procs.wait_until(lambda: apps.user_app_healthy(cfg), 10)
    finally:
        services.stop(cfg, "payments")
    assert services.running(cfg, "payments") is None and not services.port_open(cfg.user_app_port, 0.2)
    assert not marker.exists()
