"""Two broker groups on one name server (issue 13): what `env up --brokers 2` starts and writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.env import netguard, rocketmq, services
from bridge.env.config import EnvConfig, default_config, load_config
from bridge.errors import EnvironmentError_


def _cfg(tmp_path: Path, groups: int) -> EnvConfig:
    lib = tmp_path / "c" / "rocketmq" / "lib"
    lib.mkdir(parents=True, exist_ok=True)
    (lib / "rocketmq-proxy-5.5.0.jar").touch()  # argv only names the class path; nothing is started
    return EnvConfig(state_dir=tmp_path / "s", cache_dir=tmp_path / "c", port_offset=300, broker_groups=groups)


def _props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_one_group_is_the_environment_as_before(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, 1)
    assert "broker-b" not in cfg.services
    rocketmq.write_configs(cfg)
    assert not (rocketmq.conf_dir(cfg) / "broker-b.conf").exists()


def test_two_groups_start_broker_b_after_broker_on_its_own_ports_store_and_logs(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, 2)
    assert cfg.services.index("broker-b") == cfg.services.index("broker") + 1 < cfg.services.index("proxy")
    rocketmq.write_configs(cfg)
    a = _props((rocketmq.conf_dir(cfg) / "broker.conf").read_text())
    b = _props((rocketmq.conf_dir(cfg) / "broker-b.conf").read_text())
    assert (a["brokerName"], b["brokerName"]) == ("broker-a", "broker-b")
    assert a["brokerClusterName"] == b["brokerClusterName"] and a["namesrvAddr"] == b["namesrvAddr"]
    assert b["listenPort"] == str(10921 + 300) and b["metricsPromExporterPort"] == str(5558 + 300)
    assert a["storePathRootDir"] != b["storePathRootDir"] and a["listenPort"] != b["listenPort"]
    spec = services.spec(cfg, "broker-b")
    assert spec.ready_port == 10921 + 300 and str(rocketmq.conf_dir(cfg) / "broker-b.conf") in spec.argv
    # its own user.home: two brokers must not write the same broker.log
    assert f"-Duser.home={rocketmq.home_dir(cfg, 'broker-b')}" in spec.argv
    assert rocketmq.home_dir(cfg, "broker-b") != rocketmq.home_dir(cfg)
    assert cfg.port("broker_b") + 1 in netguard.exposed_ports(cfg)


def test_the_number_of_groups_is_saved_and_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = _cfg(tmp_path, 2)
    cfg.save()
    assert load_config(cfg.state_dir).broker_groups == 2
    monkeypatch.setenv("MQDRILL_BROKER_GROUPS", "3")
    with pytest.raises(EnvironmentError_, match="MQDRILL_BROKER_GROUPS=3 is out of range: allowed 1 or 2"):
        default_config(tmp_path / "fresh")
    monkeypatch.setenv("MQDRILL_BROKER_GROUPS", "2")
    assert default_config(tmp_path / "fresh").broker_groups == 2
