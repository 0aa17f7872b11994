"""Each local action kind against the real environment: the effect is there while injected and
gone after recovery. Recovery is always followed by a real message round trip."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.engines.base import Handle
from bridge.engines.local import LocalEngine
from bridge.env import faultlog, message_round_trip, procs, services, status
from bridge.env.netfaults import probe_round_trip
from tests.e2e import e2e_shop as shop
from tests.e2e.e2e_support import EmbeddedEnv, plan, settled

pytestmark = pytest.mark.e2e
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="iptables and mounting the bounded store need root")


@pytest.fixture
def engine(embedded_env: EmbeddedEnv) -> Iterator[LocalEngine]:
    eng = LocalEngine(embedded_env.config)
    yield eng
    # whatever a test left behind is taken back, and the environment is healthy again
    for fid in faultlog.active_ids(embedded_env.config):
        faultlog.recover(embedded_env.config, fid)
    _healthy(embedded_env)


def _healthy(env: EmbeddedEnv) -> None:
    # healthy by the business path too: a real message refreshes the producer's last word
    deadline = time.monotonic() + 60
    while not status(env.config, round_trip=True)["healthy"] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert status(env.config, round_trip=True)["healthy"]
    # after a broker restart the proxy and clients need from a few seconds up to ~40 s
    message_round_trip(env.config, timeout=90)


def _roundtrip_handle(handle: Handle) -> Handle:
    """Recovery works from a handle read back from disk."""
    return Handle.from_json(json.loads(json.dumps(handle.to_json())))


def test_kill_with_supervisor_restarts_and_backlog_drains(engine: LocalEngine, embedded_env: EmbeddedEnv) -> None:
    # from a settled shop: an earlier test's broker kill can leave T_CART without a route for up to
    # a minute ("No topic route info"), and then nothing is consumed whatever cartservice does
    settled(embedded_env)
    front = embedded_env.frontend_url
    handle = engine.inject(plan("kill", "cartservice", restart_after_s=3))
    user = shop.new_user("podkill")
    assert shop.add(front, user)[0] == 200  # the broker keeps the message while nobody consumes
    assert shop.quantity(front, user) is None  # the cart view needs cartservice
    # restarted by the supervisor, backlog drained: a fresh consumer needs its start-up, its first
    # heartbeat and a receive (and, on a loaded machine, the grace before it re-creates a lost session)
    assert shop.wait_quantity(front, user, 1, timeout=60)
    assert engine.status(handle).status == "recovered"
    engine.recover(handle)


def test_pause_proxy_stalls_sends(engine: LocalEngine, embedded_env: EmbeddedEnv) -> None:
    front = embedded_env.frontend_url
    handle = engine.inject(plan("pause", "proxy"))
    proxy = services.running(embedded_env.config, "proxy")
    assert proxy is not None and procs.state_of(proxy.pid) == "T"
    user = shop.new_user("pause")
    status_code, seconds = shop.add(front, user)
    assert status_code == 200 and seconds >= 2.5  # the synchronous send waited for its timeout
    engine.recover(handle)
    assert procs.state_of(proxy.pid) != "T"


def test_latency_toxic_on_the_producer_side_shifts_send_latency(engine: LocalEngine, embedded_env: EmbeddedEnv) -> None:
    front = embedded_env.frontend_url
    user = shop.new_user("latency")
    before = min(shop.add(front, user)[1] for _ in range(3))
    handle = engine.inject(plan("toxic", "proxy", type="latency", latency=400, jitter=0, client="frontend"))
    during = min(shop.add(front, user)[1] for _ in range(3))
    assert during >= before + 0.35
    # the consumer side has its own listener and is untouched
    assert (probe_round_trip(embedded_env.ports["tp_cartservice"]) or 9) < 0.3
    engine.recover(handle)
    after = min(shop.add(front, user)[1] for _ in range(3))
    assert after < before + 0.2
    assert shop.wait_quantity(front, user, 9, timeout=15)


def test_consumer_side_down_grows_consume_delay(engine: LocalEngine, embedded_env: EmbeddedEnv) -> None:
    front, cart = embedded_env.frontend_url, embedded_env.cartservice_url
    handle = engine.inject(plan("proxy-down", "proxy", client="cartservice"))
    assert not services.port_open(embedded_env.ports["tp_cartservice"])
    user = shop.new_user("backlog")
    assert shop.add(front, user)[0] == 200
    assert not shop.wait_quantity(front, user, 1, timeout=5)  # the cart stops updating
    engine.recover(handle)
    assert shop.wait_quantity(front, user, 1, timeout=40)  # the backlog drains after recovery
    # the message waited at least the 5 s of the outage before it was consumed
    assert shop.metric(cart, "cartservice_consume_delay_last_seconds") >= 5


@needs_root
def test_iptables_drop_on_redis_fails_direct_adds(engine: LocalEngine, embedded_env: EmbeddedEnv) -> None:
    front = embedded_env.frontend_url
    handle = engine.inject(plan("iptables-drop", "redis", direction="in"))
    user = shop.new_user("drop")
    assert shop.add(front, user, channel="http")[0] >= 500  # the direct channel reports the failure
    engine.recover(handle)
    assert shop.add(front, user, channel="http")[0] == 200
    # 1, or 2 when TCP retransmitted the timed-out write to Redis once the rule was gone
    assert shop.quantity(front, user) in (1, 2)


def _group(pgid: int) -> list[tuple[int, str, float]]:
    """(pid, state, CPU seconds user + system) of every process in a process group."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            in_group = os.getpgid(pid) == pgid
        except OSError:
            continue  # gone
        state, cpu = procs.state_of(pid), procs.cpu_seconds(pid)
        if in_group and state is not None and cpu is not None:
            out.append((pid, state, cpu))
    return out


def _group_alive(pgid: int) -> list[int]:
    """Processes of the group still alive (zombies are done, only not yet reaped)."""
    return [pid for pid, state, _ in _group(pgid) if state not in ("Z", "X")]


def _group_cpu_seconds(pgid: int) -> float:
    return sum(cpu for _, _, cpu in _group(pgid))


def test_cpu_stress_burns_cpu_until_recovery(engine: LocalEngine, embedded_env: EmbeddedEnv) -> None:
    # one worker: at most one core, so it needs no lane to stand aside (machine_exclusive)
    handle = engine.inject(plan("cpu-stress", "broker", workers=1, load=80))
    pid = handle.data["faults"][0]["undo"]["pid"]
    assert engine.status(handle).status == "injected"
    before = _group_cpu_seconds(pid)
    # the worker really takes CPU: half a CPU-second, within 10 s even on a machine other lanes
    # keep busy (an idle process would gather none)
    assert procs.wait_until(lambda: _group_cpu_seconds(pid) - before >= 0.5, 10, step=0.25)
    engine.recover(handle)
    assert procs.state_of(pid) in (None, "Z")
    # no worker left behind: a worker may take a moment to exit after the group is signalled
    deadline = time.monotonic() + 5
    while _group_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _group_alive(pid) == []


@needs_root
def test_disk_fill_makes_the_broker_refuse_writes(engine: LocalEngine, embedded_env: EmbeddedEnv) -> None:
    front = embedded_env.frontend_url
    handle = engine.inject(plan("disk-fill", "broker", deadline_s=180, percent=95))
    errors_before = shop.metric(front, "frontend_send_errors_total")
    user = shop.new_user("diskfull")
    assert shop.add(front, user)[0] == 200
    assert not shop.wait_quantity(front, user, 1, timeout=3)
    assert shop.metric(front, "frontend_send_errors_total") > errors_before  # the broker refused the put
    engine.recover(handle)


def test_watchdog_ends_the_fault_when_mqdrill_is_killed(embedded_env: EmbeddedEnv) -> None:
    """A process holding a fault is SIGKILLed; the watchdog still ends it by the deadline."""
    import signal
    import sys

    from bridge import process

    cfg = embedded_env.config
    script = (
        "import sys, time\n"
        "from bridge.engines.local import LocalEngine\n"
        "from bridge.env import load_config\n"
        "from tests.e2e.e2e_support import plan\n"
        "p = plan('proxy-down', 'proxy', deadline_s=5, client='frontend')\n"
        "h = LocalEngine(load_config(sys.argv[1])).inject(p)\n"
        "print(h.ref, flush=True)\n"
        "time.sleep(600)\n"
    )
    log = cfg.state_dir / "holder.log"
    argv = [sys.executable, "-c", script, str(cfg.state_dir)]
    pid = process.spawn(argv, log_file=log, env={"PYTHONPATH": str(Path(__file__).parents[2])})
    holder = procs.identify(pid)
    assert holder is not None
    deadline = time.monotonic() + 20
    while not log.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.1)
    fault_id = log.read_text().split()[0]
    assert not services.port_open(embedded_env.ports["tp_frontend"])  # injected
    procs.send(holder, signal.SIGKILL)
    record = faultlog.load(cfg, fault_id)
    while time.time() < record["deadline_at"] + 5 and not faultlog.is_done(cfg, fault_id):
        time.sleep(0.2)
    done = faultlog.load(cfg, fault_id)
    assert done["recovered_by"] == "watchdog"
    assert done["recovered_at"] <= record["deadline_at"] + 2
    assert services.port_open(embedded_env.ports["tp_frontend"])


# last: a broker restart delays its first disk check by 60 s, which the disk-fill test would wait for
def test_kill_broker_stops_the_cart_until_recovery(engine: LocalEngine, embedded_env: EmbeddedEnv) -> None:
    front = embedded_env.frontend_url
    handle = engine.inject(plan("kill", "broker"))
    assert services.running(embedded_env.config, "broker") is None
    assert engine.status(handle).status == "injected"
    user = shop.new_user("kill")
    assert shop.add(front, user)[0] == 200  # like the original demo: the send error is only logged
    assert not shop.wait_quantity(front, user, 1, timeout=4)
    engine.recover(_roundtrip_handle(handle))
    assert engine.status(handle).status == "recovered"
    assert services.running(embedded_env.config, "broker") is not None
