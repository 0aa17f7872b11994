"""The business path's health as the environment reads it from the shop, and what `recover`
says about a fault the watchdog already ended. Real HTTP servers and real fault records on
disk; no environment is started."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bridge.engines.base import Handle
from bridge.engines.local import LocalEngine, confirm_timeout_s
from bridge.env import health
from bridge.env.config import DEFAULT_PORTS, EnvConfig
from bridge.env.lifecycle import unhealthy_reasons
from bridge.runner.ledger import Ledger
from bridge.runner.recover import recover_leftovers

LOST = 'InternalErrorException: 50001, Cannot invoke "Settings.getClientType()" because "settings" is null.'


@contextmanager
def healthz(service: str, body: dict[str, Any], tmp_path: Path) -> Iterator[EnvConfig]:
    """A server answering ``body`` on /healthz at the port ``service`` has in the returned config."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        offset = server.server_address[1] - DEFAULT_PORTS[service]
        yield EnvConfig(state_dir=tmp_path, cache_dir=tmp_path, port_offset=offset)
    finally:
        server.shutdown()
        server.server_close()


def test_a_consumer_stuck_in_failed_receives_is_not_ok_and_says_why(tmp_path: Path) -> None:
    body = {"status": "ok", "consumer": {"state": "retrying", "error": LOST, "since": time.time() - 42}}
    with healthz("cartservice", body, tmp_path) as cfg:
        check = health.consumer(cfg)
    assert not check.ok and check.state == "retrying"
    assert check.error.startswith("retrying for 42s") and '"settings" is null' in check.error


def test_a_consuming_consumer_is_ok(tmp_path: Path) -> None:
    body = {"status": "ok", "consumer": {"state": "running", "error": "", "since": time.time()}}
    with healthz("cartservice", body, tmp_path) as cfg:
        assert health.consumer(cfg).ok


def test_a_producer_is_idle_until_its_first_send_and_broken_after_a_failed_one(tmp_path: Path) -> None:
    with healthz("frontend", {"status": "ok", "producer": "idle"}, tmp_path) as cfg:
        assert health.producer(cfg).ok and health.producer(cfg).state == "idle"
    failed = {"status": "ok", "sending": {"state": "retrying", "error": "AioRpcError: UNAVAILABLE", "since": 0}}
    with healthz("frontend", failed, tmp_path) as cfg:
        check = health.producer(cfg)
    assert not check.ok and check.error == "AioRpcError: UNAVAILABLE"


def test_a_shop_that_does_not_answer_is_unreachable(tmp_path: Path) -> None:
    with healthz("frontend", {}, tmp_path) as cfg:
        pass  # the server is gone: its port refuses
    check = health.consumer(cfg.with_offset(cfg.port_offset - 10))  # cartservice's port = the closed one
    assert not check.ok and check.state == "unreachable" and "did not answer" in check.error


def test_unhealthy_reasons_name_the_service_and_the_link() -> None:
    info = {
        "services": {
            "broker": {"running": True, "state": "T", "listening": True, "port": 1},
            "proxy": {"running": True, "state": "S", "listening": True, "port": 2},
        },
        "business": {"checks": {"consumer": {"ok": False, "state": "retrying", "error": "settings is null"}}},
    }
    assert unhealthy_reasons(info) == "broker is stopped (SIGSTOP); consumer retrying: settings is null"


def test_a_broker_kill_may_wait_longer_for_the_business_path_than_a_toxic() -> None:
    kill = [{"kind": "kill", "service": "broker"}]
    toxic = [{"kind": "toxic", "service": "proxy"}]
    assert confirm_timeout_s(kill) > confirm_timeout_s(toxic) > 0


def _ended_fault(cfg: EnvConfig, fault_id: str, ended_at: float) -> dict[str, Any]:
    record = {
        "id": fault_id, "kind": "pause", "service": "broker", "params": {}, "created_at": ended_at - 5,
        "deadline_at": ended_at, "state_dir": str(cfg.state_dir), "undo": {"pid": 2**22 + 7, "start": 1},
        "recovered_at": ended_at, "recovered_by": "watchdog",
    }  # fmt: skip
    (cfg.faults_dir / fault_id).mkdir(parents=True)
    (cfg.faults_dir / fault_id / "fault.json").write_text(json.dumps(record))
    return record


def test_recover_all_says_the_watchdog_already_ended_a_fault_and_when(tmp_path: Path) -> None:
    cfg = EnvConfig(state_dir=tmp_path / "env", cache_dir=tmp_path)
    cfg.save()
    record = _ended_fault(cfg, "run1-0-pause-broker-abc", 1_796_164_800.0)
    handle = Handle("local", "run1", record["id"], {"state_dir": str(cfg.state_dir), "faults": [record]})
    ledger = Ledger(tmp_path / "ledger")
    ledger.add(handle, run_dir=str(tmp_path / "gone"), deadline=record["deadline_at"])
    report = recover_leftovers(ledger, lambda name: LocalEngine())
    note = "already ended by the watchdog at 2026-12-01T22:40:00.000Z"
    assert len(report.found) == 1 and note in report.found[0], report.found
    assert report.already_ended == report.found and report.recovered == report.found and report.failed == []
    assert ledger.entries() == []


def test_after_a_name_server_restart_only_a_new_broker_registration_counts(tmp_path: Path) -> None:
    from bridge.env import rocketmq

    cfg = EnvConfig(state_dir=tmp_path / "env", cache_dir=tmp_path)
    log = rocketmq.log_dir(cfg) / "broker.log"
    log.parent.mkdir(parents=True)
    log.write_bytes(b"06:54:14 INFO - Registering current broker to name server completed. TargetHost=x\n")
    offset = health.broker_log_offset(cfg)
    waited = health.wait_business(cfg, 1.0, registration_after=offset)  # the old line does not count
    assert not waited.ok and "did not register with the restarted name server" in waited.detail
    with open(log, "ab") as f:
        f.write(b"06:54:49 INFO - Registering current broker to name server completed. TargetHost=x\n")
    assert health._registered_since(cfg, offset)
