"""Shared pieces of the end-to-end tests: what ``embedded_env`` returns, and local plans."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bridge.engines.base import Fault, LocalAction, LocalKind, ParamValue, Plan, Target
from bridge.env import EnvConfig, message_round_trip


@dataclass(frozen=True)
class EmbeddedEnv:
    """What tests need to reach the running environment."""

    config: EnvConfig
    frontend_url: str
    cartservice_url: str
    toxiproxy_url: str
    broker_metrics_url: str
    state_dir: Path
    rocketmq_logs: Path
    ports: dict[str, int]


def plan(kind: LocalKind, service: str, deadline_s: int = 60, **params: ParamValue) -> Plan:
    run_id = f"test-{kind}-{uuid.uuid4().hex[:6]}"
    fault = Fault(
        run_id=run_id,
        scenario="test",
        cause=kind,
        component=service,
        engine="local",
        target=Target(services=(service,)),
        duration_s=deadline_s,
        params=params,
    )
    return Plan(engine="local", fault=fault, local=(LocalAction(kind, service, params, deadline_s),))


def settled(env: EmbeddedEnv, timeout: float = 120.0) -> None:
    """Each test starts from a healthy shop: two quick message round trips in a row (after a broker
    kill, the proxy's routes come back some seconds after the broker does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if message_round_trip(env.config, timeout=60) < 1.0 and message_round_trip(env.config, timeout=10) < 1.0:
            return
    raise AssertionError("the embedded environment did not settle")
