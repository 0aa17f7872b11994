"""A real Prometheus server in the embedded environment (Debian's ``prometheus`` package, 2.42).

It listens on loopback only, keeps its data under ``<state>/prometheus/data`` (one day of
retention) and scrapes, every second, the demo shop, the orders application, a user
application that names a metrics path, and the broker's exporter. The job names are the
services' names, so PromQL reads ``{job="notifier"}``. Drill windows are tens of seconds, so a
one-second scrape keeps enough points per window for ``rate()`` over a few seconds.
"""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from bridge.env.config import HOST, ORDERS_SERVICES, EnvConfig

SCRAPE_INTERVAL_S = 1
BINARY = "prometheus"


def data_dir(cfg: EnvConfig) -> Path:
    return cfg.state_dir / "prometheus" / "data"


def config_file(cfg: EnvConfig) -> Path:
    return cfg.state_dir / "prometheus" / "prometheus.yml"


def targets(cfg: EnvConfig) -> dict[str, tuple[str, str]]:
    """job → (host:port, metrics path) of everything scraped."""
    jobs: dict[str, tuple[str, str]] = {
        "frontend": (f"{HOST}:{cfg.port('frontend')}", "/metrics"),
        "cartservice": (f"{HOST}:{cfg.port('cartservice')}", "/metrics"),
    }
    for name in ORDERS_SERVICES:
        jobs[name] = (f"{HOST}:{cfg.port(name)}", "/metrics")
    if not cfg.external:
        jobs["broker"] = (f"{HOST}:{cfg.port('broker_metrics')}", "/metrics")
    app = cfg.user_app
    if app is not None and app.metrics:
        jobs[app.name] = (f"{HOST}:{cfg.user_app_port}", app.metrics)
    return jobs


def render_config(cfg: EnvConfig) -> str:
    """prometheus.yml; JSON is valid YAML, so no YAML writer is needed and nothing is quoted by hand."""
    scrape = [
        {"job_name": job, "metrics_path": path, "static_configs": [{"targets": [addr]}]}
        for job, (addr, path) in targets(cfg).items()
    ]
    interval = f"{SCRAPE_INTERVAL_S}s"
    doc = {"global": {"scrape_interval": interval, "scrape_timeout": interval, "evaluation_interval": interval},
           "scrape_configs": scrape}  # fmt: skip
    return json.dumps(doc, indent=2) + "\n"


def write_config(cfg: EnvConfig) -> None:
    config_file(cfg).parent.mkdir(parents=True, exist_ok=True)
    data_dir(cfg).mkdir(parents=True, exist_ok=True)
    config_file(cfg).write_text(render_config(cfg))


def argv(cfg: EnvConfig) -> tuple[str, ...]:
    return (
        BINARY,
        f"--config.file={config_file(cfg)}",
        f"--storage.tsdb.path={data_dir(cfg)}",
        "--storage.tsdb.retention.time=1d",
        f"--web.listen-address={HOST}:{cfg.port('prometheus')}",
        "--log.level=warn",
    )


def available() -> bool:
    return shutil.which(BINARY) is not None


def url(cfg: EnvConfig) -> str:
    return cfg.url("prometheus")


def ready(cfg: EnvConfig, timeout: float = 2.0) -> bool:
    """Prometheus answers ``/-/ready`` with 200 once its storage is open and it serves queries."""
    try:
        with urllib.request.urlopen(f"{url(cfg)}/-/ready", timeout=timeout) as resp:  # noqa: S310 - loopback
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def active_targets(cfg: EnvConfig, timeout: float = 2.0) -> dict[str, str]:
    """job → health ("up", "down", "unknown") from ``/api/v1/targets``; empty when unreachable."""
    try:
        with urllib.request.urlopen(f"{url(cfg)}/api/v1/targets?state=active", timeout=timeout) as resp:  # noqa: S310
            data = json.loads(resp.read())
    except (urllib.error.URLError, OSError, ValueError):
        return {}
    found = data.get("data", {}).get("activeTargets", [])
    return {str(t.get("labels", {}).get("job")): str(t.get("health")) for t in found if isinstance(t, dict)}
