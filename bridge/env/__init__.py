"""The embedded environment: RocketMQ 5 (namesrv, broker, proxy), Redis, Toxiproxy and the demo shop
on one machine, loopback only, plus the fault primitives the local engine applies to it."""

from bridge.env.config import EnvConfig, default_config, load_config
from bridge.env.lifecycle import down, message_round_trip, status, up

__all__ = ["EnvConfig", "default_config", "down", "load_config", "message_round_trip", "status", "up"]
