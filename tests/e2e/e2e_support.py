"""Shared pieces of the end-to-end tests: what ``embedded_env`` returns, and local plans."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

from bridge.engines.base import Fault, LocalAction, LocalKind, ParamValue, Plan, Target
from bridge.env import EnvConfig


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
