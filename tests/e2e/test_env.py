"""The embedded environment itself: a message really goes through, and the CLI reports it."""

from __future__ import annotations

import json
import os
import sys
import urllib.request

import pytest

from bridge import process
from tests.e2e import e2e_shop as shop
from tests.e2e.e2e_support import EmbeddedEnv

pytestmark = pytest.mark.e2e


def test_message_through_rocketmq_reaches_the_cart(embedded_env: EmbeddedEnv) -> None:
    user = shop.new_user("roundtrip")
    status, _ = shop.add(embedded_env.frontend_url, user, quantity=2)
    assert status == 200
    assert shop.wait_quantity(embedded_env.frontend_url, user, 2, timeout=10)
    # the consumer measured the delay from the message's born time
    assert shop.metric(embedded_env.cartservice_url, "cartservice_consume_delay_seconds_count") >= 1


def test_http_channel_writes_the_cart_directly(embedded_env: EmbeddedEnv) -> None:
    user = shop.new_user("direct")
    status, _ = shop.add(embedded_env.frontend_url, user, channel="http", quantity=3)
    assert status == 200
    assert shop.quantity(embedded_env.frontend_url, user) == 3


def test_bad_add_to_cart_names_the_field(embedded_env: EmbeddedEnv) -> None:
    status, _, _ = shop.call("POST", f"{embedded_env.frontend_url}/cart", {"user_id": "u", "product_id": "nope"})
    assert status == 400


def test_status_cli_reports_every_service(embedded_env: EmbeddedEnv) -> None:
    done = process.run(
        [
            sys.executable,
            "-m",
            "bridge",
            "env",
            "status",
            "--json",
            "--state-dir",
            str(embedded_env.state_dir),
        ],
        timeout=60,
    )
    info = json.loads(done.stdout)
    assert info["healthy"] is True
    assert set(info["services"]) == {
        "redis",
        "toxiproxy",
        "namesrv",
        "broker",
        "proxy",
        "cartservice",
        "frontend",
    }
    assert info["services"]["frontend"]["port"] == embedded_env.ports["frontend"]
    if os.geteuid() == 0:  # root: the store is bounded and the all-interface ports are guarded
        assert info["store"].startswith("tmpfs")
        assert info["non_loopback_guard"] == "iptables"


def test_broker_exports_prometheus_metrics(embedded_env: EmbeddedEnv) -> None:
    with urllib.request.urlopen(embedded_env.broker_metrics_url, timeout=5) as resp:
        text = resp.read().decode()
    assert "rocketmq_" in text
