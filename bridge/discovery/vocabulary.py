"""The RocketMQ settings of the common client libraries, and how a name is matched against them.

Names are compared in Spring Boot's relaxed form: lower case, ``_`` read as ``.``, dashes
dropped. So ``rocketmq.name-server`` (a property), ``ROCKETMQ_NAMESERVER`` (its environment
form) and ``-Drocketmq.name-server=…`` are one setting. ``*`` stands for one name segment (a
Spring Cloud Stream binding name). docs/kubernetes.md shows this table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Term:
    spelling: str  # as the library documents it
    key: str  # namesrv | endpoints | producer_group | consumer_group | topic | tag
    source: str  # which library or tool reads it


TERMS: tuple[Term, ...] = (
    # name-server address (remoting clients, RocketMQ 4 and 5)
    Term("rocketmq.name-server", "namesrv", "rocketmq-spring (RocketMQTemplate, @RocketMQMessageListener)"),
    Term("ROCKETMQ_NAME_SERVER", "namesrv", "environment form used by many charts and images"),
    Term("rocketmq.namesrv.addr", "namesrv", "the Java client's system property (-D)"),
    Term("NAMESRV_ADDR", "namesrv", "RocketMQ scripts, images and the Java client's environment"),
    Term("ROCKETMQ_NAMESRV_ADDR", "namesrv", "environment form of rocketmq.namesrv.addr"),
    Term("rocketmq.namesrv-addr", "namesrv", "custom @ConfigurationProperties(prefix=rocketmq) classes"),
    Term("spring.cloud.stream.rocketmq.binder.name-server", "namesrv", "Spring Cloud Stream RocketMQ binder"),
    Term("spring.rocketmq.name-server", "namesrv", "older Spring Boot starters"),
    Term("namesrvAddr", "namesrv", "broker.conf and rmq-proxy.json (servers: which name server they join)"),
    # gRPC endpoints (RocketMQ 5 clients talk to the proxy)
    Term("rocketmq.producer.endpoints", "endpoints", "RocketMQ 5 Spring starter (rocketmq-v5-client-spring-boot)"),
    Term("rocketmq.simple-consumer.endpoints", "endpoints", "RocketMQ 5 Spring starter"),
    Term("rocketmq.push-consumer.endpoints", "endpoints", "RocketMQ 5 Spring starter"),
    Term("ROCKETMQ_PROXY_ENDPOINTS", "endpoints", "environment form"),
    Term("ROCKETMQ_ENDPOINTS", "endpoints", "environment form"),
    Term("ROCKETMQ_ENDPOINT", "endpoints", "environment form"),
    Term("rocketmq.proxy.addr", "endpoints", "environment/property form"),
    Term("ROCKETMQ_GRPC_ENDPOINTS", "endpoints", "environment form"),
    Term("spring.rocketmq.endpoints", "endpoints", "community RocketMQ 5 starters"),
    # groups
    Term("rocketmq.producer.group", "producer_group", "rocketmq-spring"),
    Term("ROCKETMQ_PRODUCER_GROUP", "producer_group", "environment form"),
    Term("spring.cloud.stream.rocketmq.bindings.*.producer.group", "producer_group", "Spring Cloud Stream binder"),
    Term("rocketmq.consumer.group", "consumer_group", "rocketmq-spring (pull consumer)"),
    Term("rocketmq.simple-consumer.consumer-group", "consumer_group", "RocketMQ 5 Spring starter"),
    Term("rocketmq.push-consumer.consumer-group", "consumer_group", "RocketMQ 5 Spring starter"),
    Term("spring.cloud.stream.bindings.*.group", "consumer_group", "Spring Cloud Stream (input bindings)"),
    Term("ROCKETMQ_CONSUMER_GROUP", "consumer_group", "environment form"),
    # topics and tags
    Term("rocketmq.consumer.topic", "topic", "rocketmq-spring (pull consumer)"),
    Term("rocketmq.producer.topic", "topic", "RocketMQ 5 Spring starter"),
    Term("rocketmq.simple-consumer.topic", "topic", "RocketMQ 5 Spring starter"),
    Term("rocketmq.push-consumer.topic", "topic", "RocketMQ 5 Spring starter"),
    Term("spring.cloud.stream.bindings.*.destination", "topic", "Spring Cloud Stream"),
    Term("ROCKETMQ_TOPIC", "topic", "environment form"),
    Term("rocketmq.simple-consumer.tag", "tag", "RocketMQ 5 Spring starter"),
    Term("rocketmq.push-consumer.tag", "tag", "RocketMQ 5 Spring starter"),
    Term("rocketmq.consumer.selector-expression", "tag", "rocketmq-spring (pull consumer)"),
    Term("ROCKETMQ_TAG", "tag", "environment form"),
)

# Keys whose values are addresses (a drill pairs clients with servers by them).
ADDRESS_KEYS = ("namesrv", "endpoints")


def canonical(name: str) -> str:
    """Spring Boot's relaxed form of a property or environment variable name."""
    return name.strip().lower().replace("_", ".").replace("-", "")


def _pattern(spelling: str) -> re.Pattern[str]:
    parts = [r"[^.]+" if p == "*" else re.escape(p) for p in canonical(spelling).split(".")]
    return re.compile(r"\.".join(parts) + r"\Z")


_COMPILED = tuple((_pattern(t.spelling), t.key) for t in TERMS)


def key_of(name: str) -> str | None:
    """The setting ``name`` means (``namesrv``, ``topic``, …), or None when it is not one we know."""
    c = canonical(name)
    if "rocketmq" not in c and "namesrv" not in c and not c.startswith("spring.cloud.stream.bindings."):
        return None  # cheap exit: every term names RocketMQ, the name server or a stream binding
    for pattern, key in _COMPILED:
        if pattern.match(c):
            return key
    return None


def markdown_table() -> str:
    """The vocabulary as the Markdown table docs/kubernetes.md carries (a test keeps them equal)."""
    rows = ["| setting | means | read by |", "| --- | --- | --- |"]
    rows += [f"| `{t.spelling}` | {t.key} | {t.source} |" for t in TERMS]
    return "\n".join(rows)
