"""Apache RocketMQ 5 as three JVMs (name server, broker, proxy in cluster mode) plus mqadmin.

Configuration files are written under the state directory. JVM options keep each heap small
(``heap_mb`` ≤ 512), open the JDK internals the store touches on Java 17, and point logback and
``user.home`` at the state directory so logs land where the collectors read them.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bridge import process
from bridge.env.config import HOST, EnvConfig
from bridge.env.orders import TOPICS as ORDER_TOPICS
from bridge.errors import EnvironmentError_, ProcessError

CLUSTER = "DefaultCluster"
BROKER_NAME = "broker-a"
SECOND_BROKER_NAME = "broker-b"
TOPIC = "T_CART"
CONSUMER_GROUP = "CID_CART"

MAIN_CLASS = {
    "namesrv": "org.apache.rocketmq.namesrv.NamesrvStartup",
    "broker": "org.apache.rocketmq.broker.BrokerStartup",
    "broker-b": "org.apache.rocketmq.broker.BrokerStartup",
    "proxy": "org.apache.rocketmq.proxy.ProxyStartup",
}
_JDK_OPENS = (
    "--add-exports", "java.base/sun.nio.ch=ALL-UNNAMED",
    "--add-opens", "java.base/java.nio=ALL-UNNAMED",
    "--add-opens", "java.base/java.lang=ALL-UNNAMED",
)  # fmt: skip


def conf_dir(cfg: EnvConfig) -> Path:
    return cfg.state_dir / "conf"


def home_dir(cfg: EnvConfig, role: str = "") -> Path:
    """``user.home`` and ``rocketmq.home.dir`` of the JVMs: logs go to ``<home>/logs/rocketmqlogs``.

    broker-b has a home of its own: both brokers write ``broker.log``, and must not share it."""
    return cfg.state_dir / ("rocketmq-b" if role == "broker-b" else "rocketmq")


def log_dir(cfg: EnvConfig, role: str = "") -> Path:
    return home_dir(cfg, role) / "logs" / "rocketmqlogs"


def _properties(values: dict[str, object]) -> str:
    # RocketMQ silently drops values that fail to parse, so no stray spaces.
    return "".join(f"{k}={v}\n" for k, v in values.items())


def namesrv_conf(cfg: EnvConfig) -> str:
    return _properties({"listenPort": cfg.port("namesrv"), "bindAddress": HOST})


def broker_conf(cfg: EnvConfig, *, second: bool = False) -> str:
    store = cfg.second_store_dir if second else cfg.store_dir
    port = cfg.port("broker_b" if second else "broker")
    return _properties({
        "brokerClusterName": CLUSTER,
        "brokerName": SECOND_BROKER_NAME if second else BROKER_NAME,
        "brokerId": 0,
        "brokerIP1": HOST,  # else it registers a non-loopback address
        "bindAddress": HOST,
        "namesrvAddr": f"{HOST}:{cfg.port('namesrv')}",
        "listenPort": port,
        "haListenPort": port + 1,
        "storePathRootDir": store,
        "storePathCommitLog": store / "commitlog",
        "mappedFileSizeCommitLog": 16 * 1024 * 1024,
        "mappedFileSizeConsumeQueue": 60_000,
        "maxHashSlotNum": 1000,
        "maxIndexNum": 4000,
        # the timer wheel must stay on (the proxy refuses pop consumption without it); keep it small
        "timerMaxDelaySec": 3600,
        "mappedFileSizeTimerLog": 4 * 1024 * 1024,
        "autoCreateTopicEnable": "false",
        "cleanResourceInterval": 2000,  # disk checks every 2 s instead of 10 s (after the first 60 s)
        # RocketMQ 5.5.0's TransactionMetricsFlushService spins on a core until its first flush
        # (apache/rocketmq#10515, fixed in 5.5.1, which Maven here does not serve whole): with the
        # 10 s default every broker start burned 10 s of CPU (17 CPU-s per start, 9 with 1 s)
        "transactionMetricFlushInterval": 1000,
        "metricsExporterType": "PROM",
        "metricsPromExporterHost": HOST,
        "metricsPromExporterPort": cfg.port("broker_b_metrics" if second else "broker_metrics"),
    })  # fmt: skip


def proxy_conf(cfg: EnvConfig) -> str:
    return json.dumps({
        "rocketMQClusterName": CLUSTER,
        # the proxy reaches the name server through Toxiproxy so namesrv faults can act on it
        "namesrvAddr": f"{HOST}:{cfg.port('tp_namesrv')}",
        "proxyMode": "cluster",
        "grpcServerPort": cfg.port("proxy_grpc"),
        "remotingListenPort": cfg.port("proxy_remoting"),
        # QueryRoute answers with the port the client dialled (its Toxiproxy listener), so the
        # clients keep talking through Toxiproxy instead of bypassing it
        "useEndpointPortFromRequest": True,
        # the proxy caches topic routes and configs, refreshed 20 s after they were loaded; a
        # "not found" cached while the broker was down then outlives its restart by up to a
        # minute. 5 s keeps local recoveries quick (docs/environment.md).
        "topicRouteServiceCacheRefreshSeconds": 5,
        "topicConfigCacheRefreshSeconds": 5,
        "subscriptionGroupConfigCacheRefreshSeconds": 5,
    }, indent=2)  # fmt: skip


def write_configs(cfg: EnvConfig) -> None:
    d = conf_dir(cfg)
    d.mkdir(parents=True, exist_ok=True)
    (d / "namesrv.conf").write_text(namesrv_conf(cfg))
    (d / "broker.conf").write_text(broker_conf(cfg))
    if cfg.broker_groups > 1:
        (d / "broker-b.conf").write_text(broker_conf(cfg, second=True))
        cfg.second_store_dir.mkdir(parents=True, exist_ok=True)
        log_dir(cfg, "broker-b").mkdir(parents=True, exist_ok=True)
    (d / "rmq-proxy.json").write_text(proxy_conf(cfg) + "\n")
    cfg.store_dir.mkdir(parents=True, exist_ok=True)
    log_dir(cfg).mkdir(parents=True, exist_ok=True)


def classpath(cfg: EnvConfig) -> str:
    lib = cfg.rocketmq_lib
    if not any(lib.glob("rocketmq-proxy-*.jar")):
        raise EnvironmentError_(
            f"RocketMQ jars missing in {lib}: run scripts/setup (needs Maven: apt-get install -y maven)"
        )
    return f"{lib}/*"


def jvm_argv(cfg: EnvConfig, role: str, *, heap_mb: int | None = None, logback: str | None = None) -> list[str]:
    heap = min(heap_mb or cfg.heap_mb, 512)
    home = home_dir(cfg, role)
    logback = logback or ("broker" if role == "broker-b" else role)
    return [
        "java",
        f"-Xms{min(heap, 128)}m", f"-Xmx{heap}m",
        "-XX:+UseSerialGC", "-XX:MaxDirectMemorySize=256m", "-XX:MaxMetaspaceSize=192m",
        # keep every exception's message and stack: a hot path's bare NullPointerException tells nothing
        "-XX:-OmitStackTraceInFastThrow",
        *_JDK_OPENS,
        f"-Duser.home={home}", f"-Drocketmq.home.dir={home}",
        f"-Drmq.logback.configurationFile=rmq.{logback}.logback.xml",
        f"-Dmqdrill.service={role}",
        "-cp", classpath(cfg),
    ]  # fmt: skip


def service_argv(cfg: EnvConfig, role: str) -> list[str]:
    d = conf_dir(cfg)
    args = {
        "namesrv": ["-c", str(d / "namesrv.conf")],
        "broker": ["-c", str(d / "broker.conf")],
        "broker-b": ["-c", str(d / "broker-b.conf")],
        "proxy": ["-pc", str(d / "rmq-proxy.json"), "-pm", "cluster"],
    }[role]
    return [*jvm_argv(cfg, role), MAIN_CLASS[role], *args]


def mqadmin(cfg: EnvConfig, *args: str, timeout: float = 60.0) -> str:
    """Run one mqadmin subcommand; mqadmin catches its own exceptions, so callers check stdout."""
    argv = [
        *jvm_argv(cfg, "tools", heap_mb=128),
        "-XX:TieredStopAtLevel=1",
        "org.apache.rocketmq.tools.command.MQAdminStartup",
        *args,
    ]
    done = process.run(argv, timeout=timeout, check=False)
    return done.stdout + done.stderr


def create_topic_and_group(cfg: EnvConfig) -> None:
    """Create ``T_CART`` and ``CID_CART``: the proxy does not auto-create topics for gRPC clients.

    The orders application's topics too (its groups the broker auto-creates at first use).
    """
    ns = cfg.namesrv_addr
    commands = {
        f"updateTopic {TOPIC}": ["updateTopic", "-n", ns, "-c", CLUSTER, "-t", TOPIC, "-r", "4", "-w", "4"],
        f"updateSubGroup {CONSUMER_GROUP}": ["updateSubGroup", "-n", ns, "-c", CLUSTER, "-g", CONSUMER_GROUP],
    }
    for topic in ORDER_TOPICS:
        commands[f"updateTopic {topic}"] = ["updateTopic", "-n", ns, "-c", CLUSTER, "-t", topic, "-r", "4", "-w", "4"]
    # two JVMs side by side: each mqadmin run spends seconds starting and shutting its client down
    with ThreadPoolExecutor(max_workers=2) as pool:
        outputs = dict(zip(commands, pool.map(lambda args: mqadmin(cfg, *args), commands.values()), strict=True))
    for what, out in outputs.items():
        if "success" not in out:
            raise ProcessError(f"mqadmin {what} failed: {out.strip()[-300:]}")
