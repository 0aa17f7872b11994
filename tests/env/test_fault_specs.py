"""Fault primitives that need no running environment: which proxies, which rules, which toxics."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.env import faults, netfaults
from bridge.env.config import EnvConfig
from bridge.errors import InjectionError


def test_each_client_has_its_own_listener_in_front_of_the_proxy() -> None:
    assert netfaults.proxies_for("proxy", "frontend") == ["frontend-proxy"]
    assert netfaults.proxies_for("broker", "cartservice") == ["cartservice-proxy"]
    assert sorted(netfaults.proxies_for("proxy")) == ["cartservice-proxy", "frontend-proxy"]
    assert netfaults.proxies_for("namesrv") == ["namesrv-proxy"]
    assert netfaults.proxies_for("redis") == ["redis-proxy"]


def test_unknown_client_is_refused_with_the_allowed_values() -> None:
    with pytest.raises(InjectionError, match="allowed frontend, cartservice, all"):
        netfaults.proxies_for("proxy", "checkout")


@given(st.sampled_from(["in", "out", "both"]), st.integers(min_value=1, max_value=65535))
def test_drop_rules_match_the_port_on_loopback_only(direction: str, port: int) -> None:
    rules = netfaults.drop_rules(port, direction, "mqdrill:x")
    assert len(rules) == (2 if direction == "both" else 1)
    for rule in rules:
        assert rule[:3] == ["INPUT", "-i", "lo"] and rule[-2:] == ["-j", "DROP"]
        assert str(port) in rule and "mqdrill:x" in rule


def test_bad_direction_is_refused() -> None:
    with pytest.raises(InjectionError, match="allowed in, out, both"):
        netfaults.drop_rules(80, "sideways", "t")


def test_toxic_params_become_attributes_and_both_streams() -> None:
    params = {"type": "latency", "stream": "both", "latency": 300, "jitter": 50, "client": "frontend"}
    toxics = netfaults.toxics_of("proxy", params, "a1")
    assert [t.stream for t in toxics] == ["upstream", "downstream"]
    assert all(dict(t.attributes) == {"latency": 300, "jitter": 50} for t in toxics)
    assert len({t.name for t in toxics}) == 2


def test_planned_undo_is_known_before_the_fault_is_applied(tmp_path: Path) -> None:
    cfg = EnvConfig(state_dir=tmp_path, cache_dir=tmp_path)
    undo = faults.planned_undo(cfg, "toxic", "proxy", {"type": "timeout", "client": "all"}, "f1")
    assert sorted(p for p, _ in undo["toxics"]) == ["cartservice-proxy", "frontend-proxy"]
    assert faults.planned_undo(cfg, "disk-fill", "broker", {}, "f1")["file"].endswith("mqdrill-fill-f1")
    assert faults.planned_undo(cfg, "iptables-drop", "namesrv", {"direction": "both"}, "f1")["port"] == 9876


def test_unknown_kind_is_refused(tmp_path: Path) -> None:
    cfg = EnvConfig(state_dir=tmp_path, cache_dir=tmp_path)
    with pytest.raises(InjectionError, match="allowed kill, pause"):
        faults.planned_undo(cfg, "meteor", "broker", {}, "f1")
