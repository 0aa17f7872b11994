"""How each service of the embedded environment is started and how we know it is up.

A :class:`ServiceSpec` is pure data (argv, environment, readiness port); :mod:`bridge.env.lifecycle`
starts them. The same specs let a supervisor or a watchdog restart a killed service.
"""

from __future__ import annotations

import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from bridge.env import orders, procs, prometheus, rocketmq
from bridge.env.config import DEMO_COMMON_DIR, HOST, REPO_ROOT, EnvConfig

SHOP_DIR = REPO_ROOT / "demo-k8s" / "shop"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    argv: tuple[str, ...]
    ready_port: int  # TCP port that accepts connections once the service is up
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    stop_grace_s: float = 10.0


def _redis(cfg: EnvConfig) -> ServiceSpec:
    data = cfg.state_dir / "redis"
    argv = (
        "redis-server", "--bind", HOST, "--port", str(cfg.port("redis")), "--dir", str(data),
        "--save", "", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no",
    )  # fmt: skip
    return ServiceSpec("redis", argv, cfg.port("redis"), cwd=None, stop_grace_s=5)


def _toxiproxy(cfg: EnvConfig) -> ServiceSpec:
    argv = (str(cfg.toxiproxy_bin), "-host", HOST, "-port", str(cfg.port("toxiproxy_api")))
    return ServiceSpec("toxiproxy", argv, cfg.port("toxiproxy_api"), env={"LOG_LEVEL": "warn"}, stop_grace_s=5)


def _jvm(cfg: EnvConfig, role: str, port: int) -> ServiceSpec:
    return ServiceSpec(role, tuple(rocketmq.service_argv(cfg, role)), port, cwd=rocketmq.home_dir(cfg, role))


def _shop_env(cfg: EnvConfig, name: str) -> dict[str, str]:
    # the client logs under HOME; rmqkeeper, the demo services' shared client keeper, on the path
    common = {"PYTHONUNBUFFERED": "1", "HOME": str(cfg.state_dir / name), "PYTHONPATH": str(DEMO_COMMON_DIR)}
    if name == "frontend":
        return {
            **common,
            "FRONTEND_HOST": HOST,
            "FRONTEND_PORT": str(cfg.port("frontend")),
            "ROCKETMQ_ENDPOINT": f"{HOST}:{cfg.port('tp_frontend')}",
            "CARTSERVICE_URL": cfg.url("cartservice"),
            "SHOP_PROTECTIONS": ",".join(cfg.protections),
            "SHOP_OUTBOX_PATH": str(cfg.state_dir / name / "outbox.sqlite"),
        }
    return {
        **common,
        "CART_HOST": HOST,
        "CART_PORT": str(cfg.port("cartservice")),
        "ROCKETMQ_ENDPOINT": f"{HOST}:{cfg.port('tp_cartservice')}",
        "REDIS_ADDR": f"{HOST}:{cfg.port('tp_redis')}",
    }


def _shop(cfg: EnvConfig, name: str) -> ServiceSpec:
    argv = (cfg.python, str(SHOP_DIR / name / "app.py"))
    return ServiceSpec(name, argv, cfg.port(name), env=_shop_env(cfg, name), cwd=SHOP_DIR / name, stop_grace_s=5)


def _orders(cfg: EnvConfig, name: str) -> ServiceSpec:
    env = orders.service_env(cfg, name)
    return ServiceSpec(name, orders.argv(cfg, name), cfg.port(name), env=env, cwd=orders.workdir(name), stop_grace_s=5)


def _prometheus(cfg: EnvConfig) -> ServiceSpec:
    return ServiceSpec("prometheus", prometheus.argv(cfg), cfg.port("prometheus"), cwd=prometheus.data_dir(cfg))


def _user_app(cfg: EnvConfig) -> ServiceSpec:
    app = cfg.user_app
    assert app is not None
    values = {
        "port": str(cfg.user_app_port),
        "rocketmq_endpoint": f"{HOST}:{cfg.port('tp_frontend')}",
        "namesrv": cfg.namesrv_addr,
        "state_dir": str(cfg.state_dir),
    }
    argv, env = app.render(values)
    cwd = Path(app.cwd) if app.cwd else cfg.state_dir / app.name
    return ServiceSpec(app.name, argv, cfg.user_app_port, env={"HOME": str(cfg.state_dir / app.name), **env}, cwd=cwd)


def spec(cfg: EnvConfig, name: str) -> ServiceSpec:
    if orders.is_orders_service(name):
        return _orders(cfg, name)
    if name == "prometheus":
        return _prometheus(cfg)
    if cfg.user_app is not None and name == cfg.user_app.name:
        return _user_app(cfg)
    if name == "redis":
        return _redis(cfg)
    if name == "toxiproxy":
        return _toxiproxy(cfg)
    if name in ("frontend", "cartservice"):
        return _shop(cfg, name)
    port = {
        "namesrv": cfg.port("namesrv"),
        "broker": cfg.port("broker"),
        "broker-b": cfg.port("broker_b"),
        "proxy": cfg.port("proxy_grpc"),
    }[name]
    return _jvm(cfg, name, port)


def port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def running(cfg: EnvConfig, name: str) -> procs.ProcId | None:
    return procs.running_from(cfg.pid_file(name))


def start(cfg: EnvConfig, name: str) -> procs.ProcId:
    """Start ``name`` unless it already runs; return its process."""
    current = running(cfg, name)
    if current is not None:
        return current
    s = spec(cfg, name)
    if s.cwd is not None:
        s.cwd.mkdir(parents=True, exist_ok=True)
    if name == "redis":
        (cfg.state_dir / "redis").mkdir(parents=True, exist_ok=True)
    if name in ("orders", "prometheus"):
        (cfg.state_dir / name).mkdir(parents=True, exist_ok=True)
    if name == "prometheus":
        prometheus.write_config(cfg)
    return procs.start(s.argv, pid_file=cfg.pid_file(name), log_file=cfg.log_file(name), env=s.env, cwd=s.cwd)


def wait_port(cfg: EnvConfig, name: str, proc: procs.ProcId, timeout: float) -> bool:
    """Wait until the service accepts connections; False if it died or the time ran out."""
    port = spec(cfg, name).ready_port
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return True
        if not procs.is_running(proc):
            return False
        time.sleep(0.1)
    return port_open(port)


def stop(cfg: EnvConfig, name: str) -> None:
    proc = procs.read_pid_file(cfg.pid_file(name))
    if proc is not None:
        procs.stop(proc, grace=spec_grace(name))
    cfg.pid_file(name).unlink(missing_ok=True)


def spec_grace(name: str) -> float:
    return 10.0 if name in rocketmq.MAIN_CLASS else 5.0


def missing_tools(cfg: EnvConfig) -> list[str]:
    """What is missing to start the environment, each with how to get it."""
    problems = []
    if shutil.which("java") is None and (not cfg.external or cfg.external_namesrv):
        problems.append("Java 17 (apt-get install -y openjdk-17-jre-headless)")
    if shutil.which("redis-server") is None:
        problems.append("redis-server (apt-get install -y redis-server)")
    if not any(cfg.rocketmq_lib.glob("rocketmq-proxy-*.jar")) and (not cfg.external or cfg.external_namesrv):
        hint = "run scripts/setup" if shutil.which("mvn") else "apt-get install -y maven, then scripts/setup"
        problems.append(f"RocketMQ jars in {cfg.rocketmq_lib} ({hint})")
    if not cfg.toxiproxy_bin.is_file():
        hint = "run scripts/setup" if shutil.which("go") else "apt-get install -y golang-go, then scripts/setup"
        problems.append(f"Toxiproxy server at {cfg.toxiproxy_bin} ({hint})")
    if not prometheus.available():
        problems.append("Prometheus (apt-get install -y prometheus, or scripts/setup)")
    if not Path(cfg.python).is_file():
        problems.append(f"the project's Python at {cfg.python} (run scripts/setup)")
    return problems
