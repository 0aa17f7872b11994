"""Switching the demo applications' protections through the environment (no process is started
here: the services are not running, so the setting is only saved for their next start, or the
restarts are recorded by fakes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.env import services
from bridge.env.config import EnvConfig, load_config
from bridge.env.protect import set_protections
from bridge.errors import InputError
from bridge.spec.catalog import load_catalog


def _cfg(tmp_path: Path) -> EnvConfig:
    return EnvConfig(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache", port_offset=7000)


def test_protections_are_saved_and_reach_the_frontend_as_its_setting(tmp_path: Path) -> None:
    cfg = set_protections(_cfg(tmp_path), ["fallback-direct", "async-outbox", "fallback-direct"])
    assert cfg.protections == ("async-outbox", "fallback-direct")
    assert load_config(cfg.state_dir).protections == ("async-outbox", "fallback-direct")
    env = services.spec(cfg, "frontend").env
    assert env["SHOP_PROTECTIONS"] == "async-outbox,fallback-direct"
    assert env["SHOP_OUTBOX_PATH"].startswith(str(cfg.state_dir))  # never in the source tree
    off = set_protections(cfg, ["none"])
    assert off.protections == () and json.loads((cfg.state_dir / "env.json").read_text())["protections"] == []


def test_an_unknown_protection_is_refused_with_what_is_allowed(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown protection teleport: allowed retry-with-backoff"):
        set_protections(_cfg(tmp_path), ["teleport"])
    assert not (tmp_path / "state" / "env.json").exists()


def test_every_shop_protection_is_a_catalog_protection() -> None:
    from bridge.env.protect import SHOP_PROTECTIONS

    assert set(SHOP_PROTECTIONS) <= set(load_catalog().protections)


def test_the_orders_app_gets_the_same_setting_without_the_outbox_it_always_has(tmp_path: Path) -> None:
    cfg = set_protections(_cfg(tmp_path), ["async-outbox", "send-timeout", "fallback-direct"])
    for name in ("orders", "fulfillment"):
        assert services.spec(cfg, name).env["ORDERS_PROTECTIONS"] == "fallback-direct,send-timeout"
    assert "ORDERS_PROTECTIONS" not in services.spec(cfg, "notifier").env  # it only consumes
    assert services.spec(cfg, "orders").env["FULFILLMENT_URL"] == cfg.url("fulfillment")


def test_a_switch_restarts_only_the_running_services_whose_share_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bridge.env import lifecycle, orders, protect

    restarted: list[str] = []
    warmed: list[str] = []
    up = {"frontend", "orders", "fulfillment", "notifier"}
    monkeypatch.setattr(services, "running", lambda cfg, name: object() if name in up else None)
    monkeypatch.setattr(protect, "_restart", lambda cfg, name, timeout: restarted.append(name))
    monkeypatch.setattr(lifecycle, "message_round_trip", lambda cfg, timeout: warmed.append("shop") or 0.1)
    monkeypatch.setattr(orders, "order_round_trip", lambda cfg, timeout: warmed.append("orders") or 0.1)
    monkeypatch.setattr(protect, "CONSUMER_POLL_S", 0.0)

    cfg = set_protections(_cfg(tmp_path), ["async-outbox"])  # the orders app has no such switch
    assert (restarted, warmed) == (["frontend"], ["shop"])
    restarted.clear(), warmed.clear()
    cfg = set_protections(cfg, ["async-outbox", "circuit-breaker"])
    assert (restarted, warmed) == (["frontend", "orders", "fulfillment"], ["shop", "orders"])
    restarted.clear(), warmed.clear()
    assert set_protections(cfg, ["circuit-breaker", "async-outbox"]) == cfg and restarted == []  # already on
