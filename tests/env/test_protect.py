"""Switching the demo shop's protections through the environment (no process is started here:
the frontend is not running, so the setting is only saved for its next start)."""

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
