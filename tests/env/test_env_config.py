"""The environment's configuration: ports, offsets, files, and what is saved for later commands."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.env import rocketmq
from bridge.env.config import DEFAULT_PORTS, EnvConfig, default_config, load_config
from bridge.errors import EnvironmentError_


def _cfg(tmp_path: Path, offset: int = 0) -> EnvConfig:
    return EnvConfig(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache", port_offset=offset)


@given(st.integers(min_value=0, max_value=20000))
def test_every_port_moves_by_the_offset_and_none_collide(offset: int) -> None:
    cfg = EnvConfig(state_dir=Path("/s"), cache_dir=Path("/c"), port_offset=offset)
    ports = cfg.ports
    assert all(ports[n] == DEFAULT_PORTS[n] + offset for n in DEFAULT_PORTS)
    # each broker also binds listenPort - 2 and + 1
    taken = [*ports.values(), *(ports[b] + d for b in ("broker", "broker_b") for d in (-2, 1))]
    assert len(taken) == len(set(taken))
    assert all(0 < p < 65536 for p in taken)


def test_saved_config_is_what_later_commands_load(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, offset=1234)
    cfg.save()
    assert load_config(cfg.state_dir) == cfg
    assert default_config(cfg.state_dir) == cfg


def test_load_config_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentError_, match="env.json is missing"):
        load_config(tmp_path)


def test_bad_port_offset_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQDRILL_PORT_OFFSET", "lots")
    with pytest.raises(EnvironmentError_, match="MQDRILL_PORT_OFFSET"):
        default_config(tmp_path / "fresh")
    monkeypatch.setenv("MQDRILL_PORT_OFFSET", "50000")
    with pytest.raises(EnvironmentError_, match="out of range"):
        default_config(tmp_path / "fresh")


def test_state_dir_comes_from_mqdrill_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQDRILL_STATE", str(tmp_path / "elsewhere"))
    monkeypatch.delenv("MQDRILL_PORT_OFFSET", raising=False)
    assert default_config().state_dir == (tmp_path / "elsewhere").resolve()


def test_broker_config_is_loopback_small_and_exports_metrics(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, offset=100)
    props = dict(line.split("=", 1) for line in rocketmq.broker_conf(cfg).splitlines())
    assert props["brokerIP1"] == "127.0.0.1" and props["bindAddress"] == "127.0.0.1"
    assert props["listenPort"] == str(10911 + 100)
    assert int(props["mappedFileSizeCommitLog"]) <= 64 * 1024 * 1024
    assert props["metricsExporterType"] == "PROM"
    assert props["storePathRootDir"] == str(cfg.store_dir)
    # RocketMQ drops a value with a stray space silently
    assert all(v == v.strip() for v in props.values())


def test_proxy_keeps_clients_behind_toxiproxy(tmp_path: Path) -> None:
    import json

    cfg = _cfg(tmp_path)
    conf = json.loads(rocketmq.proxy_conf(cfg))
    assert conf["useEndpointPortFromRequest"] is True
    assert conf["proxyMode"] == "cluster"
    assert conf["remotingListenPort"] != cfg.port("frontend")
    assert conf["namesrvAddr"].endswith(f":{cfg.port('tp_namesrv')}")


def test_jvm_heaps_are_capped_at_512_mib(tmp_path: Path) -> None:
    cfg = EnvConfig(state_dir=tmp_path, cache_dir=tmp_path, heap_mb=4096)
    lib = cfg.rocketmq_lib
    lib.mkdir(parents=True)
    (lib / "rocketmq-proxy-5.5.0.jar").touch()
    argv = rocketmq.service_argv(cfg, "broker")
    assert "-Xmx512m" in argv
    assert f"-Duser.home={rocketmq.home_dir(cfg)}" in argv


def test_missing_jars_say_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(EnvironmentError_, match="scripts/setup"):
        rocketmq.classpath(_cfg(tmp_path))


def test_an_existing_rocketmq_replaces_the_embedded_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQDRILL_ROCKETMQ_PROXY", "10.0.0.5:8081")
    monkeypatch.setenv("MQDRILL_ROCKETMQ_NAMESRV", "10.0.0.5:9876")
    cfg = default_config(tmp_path / "ext")
    assert cfg.external and "broker" not in cfg.services and "frontend" in cfg.services
    routes = {r.name: r.upstream for r in cfg.routes}
    assert routes["frontend-proxy"] == routes["cartservice-proxy"] == "10.0.0.5:8081"
    assert "namesrv-proxy" not in routes
    assert cfg.namesrv_addr == "10.0.0.5:9876"
    cfg.save()
    assert load_config(cfg.state_dir).external_proxy == "10.0.0.5:8081"


def test_a_malformed_external_address_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MQDRILL_ROCKETMQ_PROXY", "rocketmq-without-port")
    with pytest.raises(EnvironmentError_, match="must be host:port"):
        default_config(tmp_path / "ext")
