"""The Toxiproxy boundary against a real Toxiproxy server started for this module."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge import process
from bridge.env import procs
from bridge.env.config import REPO_ROOT
from bridge.errors import ToxiproxyError
from bridge.toxiproxy import Toxic, ToxiproxyClient


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def toxiproxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToxiproxyClient]:
    binary = Path(os.environ.get("MQDRILL_CACHE") or REPO_ROOT / ".cache") / "bin" / "toxiproxy-server"
    if not binary.is_file():
        pytest.fail(f"{binary} missing: run scripts/setup")
    port = _free_port()
    log = tmp_path_factory.mktemp("toxiproxy") / "server.log"
    pid = process.spawn([str(binary), "-host", "127.0.0.1", "-port", str(port)], log_file=log)
    proc = procs.identify(pid)
    assert proc is not None
    client = ToxiproxyClient(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 10
    while True:
        try:
            client.version()
            break
        except ToxiproxyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    yield client
    procs.stop(proc, grace=3)


@pytest.fixture
def echo_port() -> Iterator[int]:
    """A TCP echo server: the upstream behind the proxy under test."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    while data := conn.recv(1024):
                        conn.sendall(data)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    server.close()


def _echo_seconds(port: int) -> float:
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"ping")
        assert s.recv(16) == b"ping"
    return time.monotonic() - started


def test_latency_toxic_delays_traffic_and_removal_restores_it(toxiproxy: ToxiproxyClient, echo_port: int) -> None:
    listen = _free_port()
    toxiproxy.ensure_proxy("echo-latency", f"127.0.0.1:{listen}", f"127.0.0.1:{echo_port}")
    base = _echo_seconds(listen)
    toxiproxy.add_toxic("echo-latency", Toxic("slow", "latency", "downstream", 1.0, {"latency": 300}))
    assert [t.name for t in toxiproxy.toxics("echo-latency")] == ["slow"]
    assert _echo_seconds(listen) >= base + 0.25
    toxiproxy.remove_toxic("echo-latency", "slow")
    toxiproxy.remove_toxic("echo-latency", "slow")  # idempotent
    assert toxiproxy.toxics("echo-latency") == []
    assert _echo_seconds(listen) < 0.25


def test_disabled_proxy_refuses_connections(toxiproxy: ToxiproxyClient, echo_port: int) -> None:
    listen = _free_port()
    toxiproxy.ensure_proxy("echo-down", f"127.0.0.1:{listen}", f"127.0.0.1:{echo_port}")
    assert toxiproxy.set_enabled("echo-down", False).enabled is False
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", listen), timeout=1).close()
    toxiproxy.set_enabled("echo-down", True)
    assert _echo_seconds(listen) < 1


def test_ensure_proxy_is_idempotent(toxiproxy: ToxiproxyClient, echo_port: int) -> None:
    listen = _free_port()
    first = toxiproxy.ensure_proxy("echo-same", f"127.0.0.1:{listen}", f"127.0.0.1:{echo_port}")
    again = toxiproxy.ensure_proxy("echo-same", f"127.0.0.1:{listen}", f"127.0.0.1:{echo_port}")
    assert first == again
    assert "echo-same" in toxiproxy.proxies()


def test_api_errors_carry_the_status(toxiproxy: ToxiproxyClient) -> None:
    with pytest.raises(ToxiproxyError, match="HTTP 404"):
        toxiproxy.proxy("no-such-proxy")
    with pytest.raises(ToxiproxyError, match="unknown toxic type"):
        toxiproxy.add_toxic("x", Toxic("t", "explode"))


def test_unreachable_server_is_a_toxiproxy_error() -> None:
    with pytest.raises(ToxiproxyError, match="unreachable"):
        ToxiproxyClient(f"http://127.0.0.1:{_free_port()}", timeout=1).proxies()
