"""The second application, Prometheus and a user's own application in the environment's config:
ports that no other layout reaches, what Prometheus scrapes, and the user application file."""

from __future__ import annotations

import itertools
import json
import sys
from pathlib import Path

import pytest

from bridge.env import orders, prometheus, services
from bridge.env.config import HOST, ORDERS_SERVICES, EnvConfig, load_config
from bridge.env.userapp import load_app, parse_app
from bridge.errors import DrillFileError

LAYOUTS = (0, 1000, 2000, 3000, 4000)  # a developer's environment and the e2e fixture's offsets


def _cfg(tmp_path: Path, offset: int = 0) -> EnvConfig:
    return EnvConfig(state_dir=tmp_path / "state", cache_dir=tmp_path / "cache", port_offset=offset)


def _taken(cfg: EnvConfig) -> set[int]:
    ports = cfg.ports
    return {*ports.values(), ports["broker"] - 2, ports["broker"] + 1}


def test_no_two_port_layouts_share_a_port(tmp_path: Path) -> None:
    for a, b in itertools.combinations(LAYOUTS, 2):
        clash = _taken(_cfg(tmp_path, a)) & _taken(_cfg(tmp_path, b))
        assert not clash, f"offsets {a} and {b} both use {sorted(clash)}"
    cfg = _cfg(tmp_path)
    assert [cfg.port(n) for n in ORDERS_SERVICES] == [8071, 8072, 8070] and cfg.port("prometheus") == 9095


def test_the_orders_services_reach_rocketmq_only_through_toxiproxy(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, 1000)
    listeners = {f"{HOST}:{r.listen_port}" for r in cfg.routes}
    for name in ORDERS_SERVICES:
        spec = services.spec(cfg, name)
        assert spec.env["ROCKETMQ_ENDPOINT"] in listeners
        assert spec.env[f"{name.upper()}_HOST"] == HOST and spec.ready_port == cfg.port(name)
        assert Path(spec.env["HOME"]).is_relative_to(cfg.state_dir)
    # the producer side shares the frontend's listener, the consumers the cartservice's: `client:` picks a side
    assert orders.endpoint(cfg, "orders").endswith(str(cfg.port("tp_frontend")))
    assert orders.endpoint(cfg, "notifier").endswith(str(cfg.port("tp_cartservice")))
    assert Path(services.spec(cfg, "orders").env["ORDERS_DB"]).is_relative_to(cfg.state_dir)


def test_prometheus_listens_on_loopback_keeps_data_in_the_state_dir_and_scrapes_every_app(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, 2000)
    argv = prometheus.argv(cfg)
    assert f"--web.listen-address={HOST}:{cfg.port('prometheus')}" in argv
    data = next(a.split("=", 1)[1] for a in argv if a.startswith("--storage.tsdb.path="))
    assert Path(data).is_relative_to(cfg.state_dir)
    doc = json.loads(prometheus.render_config(cfg))  # JSON is YAML: what Prometheus reads
    jobs = {j["job_name"]: j["static_configs"][0]["targets"][0] for j in doc["scrape_configs"]}
    assert set(jobs) == {"frontend", "cartservice", "orders", "fulfillment", "notifier", "broker"}
    assert jobs["broker"] == f"{HOST}:{cfg.port('broker_metrics')}"
    assert all(addr.startswith(f"{HOST}:") for addr in jobs.values())
    assert doc["global"]["scrape_interval"] == "1s"


APP = """\
name: payments
command: ["{python}", "-m", "http.server", "{{port}}", "--bind", "127.0.0.1"]
health: /
metrics: /metrics
env: {{ROCKETMQ_ENDPOINT: "{{rocketmq_endpoint}}", MODE: drill}}
"""


def test_a_user_application_is_rendered_into_argv_and_saved_with_the_config(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(APP.format(python=sys.executable))
    cfg = EnvConfig(state_dir=tmp_path / "s", cache_dir=tmp_path / "c", port_offset=1000, user_app=load_app(path))
    assert cfg.services[-2:] == ("payments", "prometheus")
    spec = services.spec(cfg, "payments")
    assert spec.argv == (sys.executable, "-m", "http.server", "9075", "--bind", "127.0.0.1")
    assert spec.env["ROCKETMQ_ENDPOINT"] == f"{HOST}:{cfg.port('tp_frontend')}" and spec.env["MODE"] == "drill"
    assert "payments" in prometheus.targets(cfg)
    cfg.save()
    assert load_config(cfg.state_dir) == cfg


@pytest.mark.parametrize(
    ("text", "line", "field", "problem"),
    [
        ('name: payments\ncommand: "python3 -m app; rm -rf /"\n', 2, "command", "never run through a shell"),
        ("name: payments\ncommand: [python3, '{oops}']\n", 2, "command[1]", "unknown placeholder {oops}"),
        ("name: payments\ncommand: [/no/such/binary]\n", 2, "command[0]", "is not an executable file"),
        ("name: payments\ncommand: [no-such-tool-here]\n", 2, "command[0]", "is not found on PATH"),
        ("name: broker\ncommand: [python3]\n", 1, "name", "a service of the embedded environment"),
        ("name: 'a b'\ncommand: [python3]\n", 1, "name", "should match pattern"),
        ("name: payments\ncommand: [python3]\nport: 80\n", 3, "port", "greater than or equal to 1024"),
        ("name: payments\ncommand: [python3]\nshell: true\n", 3, "shell", "unknown key"),
        ("name: payments\ncommand: [python3]\nhealth: 'x; y'\n", 3, "health", "should match pattern"),
    ],
)
def test_a_bad_user_application_file_is_refused_with_line_and_field(
    text: str, line: int, field: str, problem: str
) -> None:
    with pytest.raises(DrillFileError) as info:
        parse_app(text, "app.yaml")
    err = info.value
    assert (err.file, err.line, err.field) == ("app.yaml", line, field)
    assert problem in err.problem
