"""The embedded environment, started once per test session (``embedded_env``) and shared by every
tier that drives it (tests/blade_real's host drills, then tests/e2e): registered once, in
tests/conftest.py — a fixture imported into two conftests is two fixtures, and each started its
own environment, the first idling beside the second for the rest of the session.

It runs in its own state directory and with every port shifted (``port_offset``) so it does
not clash with a developer's environment on the default ports. Teardown stops it and fails if
any of its processes is left behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from bridge.env import EnvConfig, down, netguard, procs, services, status, up
from bridge.env.config import DEFAULT_PORTS, REPO_ROOT, SERVICES
from tests.e2e.e2e_support import EmbeddedEnv, settled

OFFSETS = (1000, 2000, 3000, 4000)
OFFSETS_ENV = "MQDRILL_TEST_OFFSETS"  # a lane of scripts/test gets layouts no other lane uses
RUNNING: list[EmbeddedEnv] = []  # the session's shared environment, once started


def lane_offsets() -> tuple[int, ...]:
    """The port layouts this session may take: its lane's (tests/support/lanes.py), else all."""
    value = os.environ.get(OFFSETS_ENV)
    return tuple(int(part) for part in value.split(",")) if value else OFFSETS


def free_offset(avoid: tuple[int, ...] = ()) -> int:
    offsets = lane_offsets()
    for offset in offsets:
        if offset in avoid:
            continue
        if not any(services.port_open(p + offset, 0.2) for p in DEFAULT_PORTS.values()):
            return offset
    raise RuntimeError(f"no free port layout among offsets {offsets}")


@contextmanager
def shared_env_set_aside() -> Iterator[tuple[int, ...]]:
    """Stop the session's shared environment while a test runs a whole environment of its own
    (two of them overload 2 cores: preflights then fail on latency), and start it again after,
    settled, on the same ports and state. Yields the port offsets set aside, for the test's own
    environment to avoid (a restart on just-released ports would race their last connections)."""
    envs = list(RUNNING)
    for env in envs:
        down(env.config)
    try:
        yield tuple(env.config.port_offset for env in envs)
    finally:
        for env in envs:
            up(env.config)
            settled(env)


@pytest.fixture(scope="session")
def embedded_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedEnv]:
    state = tmp_path_factory.mktemp("mqdrill-env")
    cache = Path(os.environ.get("MQDRILL_CACHE") or REPO_ROOT / ".cache").resolve()
    cfg = EnvConfig(state_dir=state, cache_dir=cache, port_offset=free_offset())
    try:
        info = up(cfg)
    except Exception:
        down(cfg)
        raise
    started = {name: services.running(cfg, name) for name in SERVICES}
    shared = EmbeddedEnv(
        config=cfg,
        frontend_url=cfg.url("frontend"),
        cartservice_url=cfg.url("cartservice"),
        toxiproxy_url=cfg.toxiproxy_url,
        broker_metrics_url=info["urls"]["broker_metrics"],
        state_dir=state,
        rocketmq_logs=Path(info["rocketmq"]["logs"]),
        ports=cfg.ports,
    )
    RUNNING.append(shared)
    yield shared
    RUNNING.remove(shared)
    left = down(cfg)
    # `env down` leaves no process: neither what it started, nor what faults restarted since
    survivors = [n for n, p in started.items() if p is not None and procs.is_running(p)]
    assert not left and not survivors, f"still running after down: {left + survivors}"
    assert not status(cfg)["healthy"]
    assert not netguard.any_rule(cfg), "down left its iptables guard rules behind"
