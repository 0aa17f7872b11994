"""``up``, ``status`` and ``down`` of the embedded environment.

``up`` is idempotent: what already runs is kept, what is missing is started, and it returns
only once a message has really gone frontend → RocketMQ → cartservice → Redis. ``down`` takes
back every recorded fault, stops every service and checks that no process is left.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.env import apps, faultlog, health, netguard, procs, rocketmq, services, storefs
from bridge.env.config import HOST, SECOND_BROKER, SERVICES, EnvConfig
from bridge.env.health import message_round_trip
from bridge.errors import EnvironmentError_, MqdrillError
from bridge.toxiproxy import ToxiproxyClient

Say = Callable[[str], None]
__all__ = ["down", "message_round_trip", "status", "up"]


def _quiet(_: str) -> None:
    return None


def _check_ports(cfg: EnvConfig) -> None:
    """Refuse to start over a port some other program holds."""
    owners = {
        "redis": ["redis"],
        "toxiproxy": ["toxiproxy_api", "tp_frontend", "tp_cartservice", "tp_namesrv", "tp_redis"],
        "namesrv": ["namesrv"],
        "broker": ["broker", "broker_metrics"],
        "broker-b": ["broker_b", "broker_b_metrics"],
        "proxy": ["proxy_grpc", "proxy_remoting"],
        "frontend": ["frontend"],
        "cartservice": ["cartservice"],
        **{name: [name] for name in ("orders", "fulfillment", "notifier", "prometheus")},
    }
    clashes = []
    for service, names in owners.items():
        if service not in cfg.services or services.running(cfg, service) is not None:
            continue
        clashes += [f"{n}={cfg.port(n)}" for n in names if services.port_open(cfg.port(n), 0.2)]
    if clashes:
        raise EnvironmentError_(
            f"ports in use by another program: {', '.join(clashes)}; stop it or set MQDRILL_PORT_OFFSET"
        )


def _start_wait(cfg: EnvConfig, names: list[str], timeout: float) -> None:
    started = {n: services.start(cfg, n) for n in names}
    for name, proc in started.items():
        if not services.wait_port(cfg, name, proc, timeout):
            tail = _tail(cfg, name)
            raise EnvironmentError_(f"{name} did not start within {timeout:g}s; log {cfg.log_file(name)}: {tail}")


def _tail(cfg: EnvConfig, name: str) -> str:
    try:
        lines = cfg.log_file(name).read_text(errors="replace").strip().splitlines()
    except FileNotFoundError:
        return "(no log)"
    return " / ".join(lines[-3:])[-400:]


def _wait_log(cfg: EnvConfig, name: str, marker: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(FileNotFoundError):
            if marker in cfg.log_file(name).read_text(errors="replace"):
                return True
        time.sleep(0.1)
    return False


def _start_proxy(cfg: EnvConfig, timeout: float) -> None:
    """Start the proxy once the broker is up; it exits if the broker has not registered yet.

    At start the proxy creates a system topic on the cluster, which fails while the broker's
    registration with the name server is still on its way, so a quick exit is retried.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            _start_wait(cfg, ["proxy"], max(1.0, deadline - time.monotonic()))
            return
        except EnvironmentError_:
            if time.monotonic() > deadline or services.running(cfg, "proxy") is not None:
                raise
            time.sleep(1)


def _proxies(cfg: EnvConfig) -> None:
    client = ToxiproxyClient(cfg.toxiproxy_url)
    for r in cfg.routes:
        client.ensure_proxy(r.name, f"{HOST}:{r.listen_port}", r.upstream)


def _topics(cfg: EnvConfig, timeout: float) -> None:
    """Create the topic and group, retrying while the broker registers with the name server."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            rocketmq.create_topic_and_group(cfg)
            return
        except MqdrillError as exc:
            if time.monotonic() > deadline:
                raise EnvironmentError_(f"could not create {rocketmq.TOPIC}/{rocketmq.CONSUMER_GROUP}: {exc}") from exc
            time.sleep(1)


def up(cfg: EnvConfig, *, say: Say = _quiet, timeout: float = 120.0) -> dict[str, Any]:
    """Start whatever is not running and wait until a message really goes through."""
    missing = services.missing_tools(cfg)
    if missing:
        raise EnvironmentError_("cannot start the environment; missing: " + "; ".join(missing))
    _check_ports(cfg)
    cfg.save()
    rocketmq.write_configs(cfg)
    say("starting redis, toxiproxy")
    _start_wait(cfg, ["redis", "toxiproxy"], 15)
    _proxies(cfg)
    if cfg.external:
        say(f"using the existing RocketMQ proxy at {cfg.external_proxy}")
    else:
        if services.running(cfg, "broker") is None:
            say(f"store: {storefs.mount(cfg.store_dir, cfg.store_fs_mb)}")
        if not netguard.close(cfg):
            say(f"warning: ports {netguard.exposed_ports(cfg)} listen on every interface (no iptables to guard them)")
        brokers = [s for s in cfg.services if s in rocketmq.MAIN_CLASS and s.startswith("broker")]
        say(f"starting namesrv, {', '.join(brokers)}, proxy")
        _start_wait(cfg, ["namesrv", *brokers], timeout)
        # the proxy exits at once if the broker has not registered yet: wait for the broker's word
        for broker in brokers:
            _wait_log(cfg, broker, "boot success", 30)
        _start_proxy(cfg, timeout)
    if not cfg.external or cfg.external_namesrv:
        say(f"creating {rocketmq.TOPIC} and {rocketmq.CONSUMER_GROUP} via {cfg.namesrv_addr}")
        _topics(cfg, 60)
    say("starting cartservice, frontend")
    _start_wait(cfg, ["cartservice", "frontend"], 30)
    seconds = message_round_trip(cfg)
    say(f"a message went frontend → broker → cartservice → redis in {seconds:.1f}s")
    apps.up(cfg, say)  # the orders application, a user's own application, Prometheus
    info = status(cfg)
    if not info["healthy"]:  # the round trip went through, yet a link says it is broken: say which
        raise EnvironmentError_(f"the environment is up but not healthy: {unhealthy_reasons(info)}")
    return info


def _rss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def status(cfg: EnvConfig, *, round_trip: bool = False, round_trip_timeout: float = 15.0) -> dict[str, Any]:
    """What runs where and whether the business path works; JSON-ready.

    ``healthy`` needs every process running (not stopped) with its port open, AND the shop's
    clients saying they work (the consumer consumes, the last send went through), AND, with
    ``round_trip``, a real message reaching the cart. ``business`` holds each link's state and
    error, so a consumer stuck in failed receives is reported with its error.
    """
    parts: dict[str, Any] = {}
    for name in cfg.services:
        proc = services.running(cfg, name)
        port = services.spec(cfg, name).ready_port if name in ("redis", "toxiproxy") else _main_port(cfg, name)
        parts[name] = {
            "running": proc is not None,
            "pid": proc.pid if proc else None,
            "state": procs.state_of(proc.pid) if proc else None,
            "port": port,
            "listening": services.port_open(port, 0.3),
            "rss_mib": round(_rss_kib(proc.pid) / 1024, 1) if proc else 0,
            "log": str(cfg.log_file(name)),
        }
    processes_ok = all(p["running"] and p["listening"] and p["state"] != "T" for p in parts.values())
    checks = health.business(cfg, with_round_trip=round_trip and processes_ok, timeout=round_trip_timeout)
    if round_trip and not processes_ok:
        checks.insert(0, health.PathCheck("round_trip", False, "skipped", "not tried: a service is down"))
    business_ok = all(c.ok for c in checks)
    return {
        "healthy": processes_ok and business_ok,
        "processes_healthy": processes_ok,
        "business": {"healthy": business_ok, "checks": {c.name: c.to_json() for c in checks}},
        "state_dir": str(cfg.state_dir),
        "port_offset": cfg.port_offset,
        "services": parts,
        "urls": {
            "frontend": cfg.url("frontend"),
            "cartservice": cfg.url("cartservice"),
            "orders": cfg.url("orders"),
            "prometheus": cfg.url("prometheus"),
            "toxiproxy": cfg.toxiproxy_url,
            "broker_metrics": f"{cfg.url('broker_metrics')}/metrics",
        },  # fmt: skip
        "rocketmq": {
            "namesrv": f"{HOST}:{cfg.port('namesrv')}",
            "proxy_grpc": f"{HOST}:{cfg.port('proxy_grpc')}",
            "broker": f"{HOST}:{cfg.port('broker')}",
            **({"broker_b": f"{HOST}:{cfg.port('broker_b')}"} if cfg.broker_groups > 1 else {}),
            "logs": str(rocketmq.log_dir(cfg)),
        },  # fmt: skip
        "toxiproxy_routes": {r.name: f"{HOST}:{r.listen_port} -> {r.upstream}" for r in cfg.routes},
        "store": storefs.describe(cfg.store_dir) if cfg.store_dir.exists() else "absent",
        "non_loopback_guard": "iptables" if netguard.is_closed(cfg) else "none",
        "active_faults": faultlog.active_ids(cfg),
        "total_rss_mib": round(sum(p["rss_mib"] for p in parts.values()), 1),
    }


def unhealthy_reasons(info: dict[str, Any]) -> str:
    """One line naming every service that is down and every link of the business path that fails."""
    reasons = []
    for name, part in info["services"].items():
        if not part["running"]:
            reasons.append(f"{name} is not running")
        elif part["state"] == "T":
            reasons.append(f"{name} is stopped (SIGSTOP)")
        elif not part["listening"]:
            reasons.append(f"{name} does not listen on {part['port']}")
    for name, check in info["business"]["checks"].items():
        if not check["ok"]:
            reasons.append(f"{name} {check['state']}" + (f": {check['error']}" if check["error"] else ""))
    return "; ".join(reasons) or "none"


def _main_port(cfg: EnvConfig, name: str) -> int:
    return services.spec(cfg, name).ready_port


def down(cfg: EnvConfig, *, say: Say = _quiet) -> list[str]:
    """Undo every recorded fault, stop everything, unmount the store; return what is still alive."""
    from bridge.env import supervisor  # here, not at the top: `python -m bridge.env.supervisor` imports this package

    supervisor.stop_all(cfg)  # a host supervisor must not restart what `down` stops
    for fault_id in faultlog.active_ids(cfg):
        say(f"taking back fault {fault_id}")
        try:
            faultlog.recover(cfg, fault_id, restart_killed=False)
        except MqdrillError as exc:
            say(f"  could not take back {fault_id}: {exc}")
    threads = []
    for name in reversed(cfg.services):
        t = threading.Thread(target=services.stop, args=(cfg, name))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    storefs.unmount(cfg.store_dir)
    netguard.open_(cfg)
    left = [n for n in dict.fromkeys((*SERVICES, SECOND_BROKER, *cfg.services)) if services.running(cfg, n) is not None]
    return left
