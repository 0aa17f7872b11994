"""Keep the ports that RocketMQ cannot bind to loopback unreachable from other hosts.

The proxy (gRPC and remoting ports) has no bind-address setting, and the broker's HA port
binds every interface whatever ``bindAddress`` says. Where iptables is usable (root), ``up``
drops what reaches those ports from any interface but ``lo``, and ``down`` removes the rules.
Without iptables the environment still runs; ``status`` reports the ports as exposed.
"""

from __future__ import annotations

import shutil

from bridge import process
from bridge.env.config import EnvConfig
from bridge.errors import ProcessError


def exposed_ports(cfg: EnvConfig) -> list[int]:
    ports = [cfg.port("proxy_grpc"), cfg.port("proxy_remoting"), cfg.port("broker") + 1]
    return ports + ([cfg.port("broker_b") + 1] if cfg.broker_groups > 1 else [])


def _rule(cfg: EnvConfig, port: int) -> list[str]:
    tag = f"mqdrill-env:{cfg.state_dir}"[:255]
    return ["INPUT", "!", "-i", "lo", "-p", "tcp", "--dport", str(port), "-m", "comment", "--comment", tag,
            "-j", "DROP"]  # fmt: skip


def _iptables(*args: str) -> bool:
    try:
        return process.run(["iptables", "-w", "5", *args], timeout=15, check=False).returncode == 0
    except ProcessError:
        return False


def close(cfg: EnvConfig) -> bool:
    """Drop non-loopback traffic to the ports bound on every interface; False if that is impossible."""
    if shutil.which("iptables") is None:
        return False
    ok = True
    for port in exposed_ports(cfg):
        rule = _rule(cfg, port)
        if not _iptables("-C", *rule):
            ok = _iptables("-A", *rule) and ok
    return ok


def is_closed(cfg: EnvConfig) -> bool:
    """Every guard rule is in place."""
    return shutil.which("iptables") is not None and all(_iptables("-C", *_rule(cfg, p)) for p in exposed_ports(cfg))


def any_rule(cfg: EnvConfig) -> bool:
    """Some guard rule of this environment is still in place."""
    return shutil.which("iptables") is not None and any(_iptables("-C", *_rule(cfg, p)) for p in exposed_ports(cfg))


def open_(cfg: EnvConfig) -> None:
    """Remove the rules (``down``)."""
    if shutil.which("iptables") is None:
        return
    for port in exposed_ports(cfg):
        rule = _rule(cfg, port)
        while _iptables("-C", *rule):
            if not _iptables("-D", *rule):
                break
