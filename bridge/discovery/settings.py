"""A container's RocketMQ settings, wherever the pod spec puts them.

Read: ``env`` values, ``env[].valueFrom`` (``configMapKeyRef``, ``secretKeyRef``), ``envFrom``
ConfigMaps and Secrets, ``-Dkey=value`` inside any variable (``JAVA_OPTS``, ``JAVA_TOOL_OPTIONS``),
``SPRING_APPLICATION_JSON``, the command and args (``-Dk=v``, Spring's ``--k=v``, RocketMQ's
``-n addr``), and ConfigMaps mounted as files (``*.properties``, ``*.conf``, ``*.yml``, ``*.json``).

A ConfigMap or Secret that cannot be read gives a setting whose value is unknown ("set from
Secret shop/mq key addr, value unknown"); a Secret's value is used only to match addresses and
never shown (:meth:`bridge.discovery.model.Setting.shown`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

import yaml

from bridge.discovery.model import Setting
from bridge.discovery.vocabulary import key_of

_JAVA_OPT = re.compile(r"(?:^|\s)-D([A-Za-z0-9_.\-\[\]]+)=(\S+)")
_SPRING_ARG = re.compile(r"^--([A-Za-z0-9_.\-\[\]]+)=(.+)$")
_VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_FILE_SUFFIXES = (".properties", ".conf", ".yml", ".yaml", ".json")


class Sources(Protocol):
    """Where ``valueFrom`` and ``envFrom`` point: None when the object cannot be read."""

    def configmap(self, namespace: str, name: str) -> Mapping[str, str] | None: ...

    def secret(self, namespace: str, name: str) -> Mapping[str, str] | None: ...


class NoSources:
    """Nothing readable: every reference is reported as unknown."""

    def configmap(self, namespace: str, name: str) -> Mapping[str, str] | None:
        return None

    def secret(self, namespace: str, name: str) -> Mapping[str, str] | None:
        return None


def _flatten(data: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(data, Mapping):
        for k, v in data.items():
            yield from _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _flatten(v, f"{prefix}[{i}]")
    elif data is not None and prefix:
        yield prefix, str(data)


def _file_pairs(file_name: str, text: str) -> Iterator[tuple[str, str]]:
    """key/value pairs of a properties, broker.conf, YAML or JSON file; nothing when it does not parse."""
    if file_name.endswith((".properties", ".conf")):
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith(("#", "!")) and ("=" in line or ":" in line):
                k, _, v = line.partition("=") if "=" in line else line.partition(":")
                yield k.strip(), v.strip()
        return
    try:
        data = json.loads(text) if file_name.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError):
        return
    yield from _flatten(data)


def _from_text(name: str, value: str, origin: str, *, secret: bool = False) -> Iterator[Setting]:
    """The setting ``name=value`` itself, and any ``-D``/JSON settings its value carries."""
    key = key_of(name)
    if key and value:
        yield Setting(key, name, value, origin, secret)
    for k, v in _JAVA_OPT.findall(value):
        if (kk := key_of(k)) is not None:
            yield Setting(kk, k, v, f"-D in {name}", secret)
    if name == "SPRING_APPLICATION_JSON":
        try:
            pairs = list(_flatten(json.loads(value)))
        except ValueError:
            pairs = []
        for k, v in pairs:
            if (kk := key_of(k)) is not None:
                yield Setting(kk, k, v, "SPRING_APPLICATION_JSON", secret)


def _value_from(ref: Mapping[str, Any], namespace: str, sources: Sources) -> tuple[str | None, str, bool]:
    """(value or None, origin, secret) of an ``env[].valueFrom``."""
    if "secretKeyRef" in ref:
        r, secret = ref["secretKeyRef"] or {}, True
        data = sources.secret(namespace, str(r.get("name")))
        kind = "Secret"
    elif "configMapKeyRef" in ref:
        r, secret = ref["configMapKeyRef"] or {}, False
        data = sources.configmap(namespace, str(r.get("name")))
        kind = "ConfigMap"
    else:  # fieldRef / resourceFieldRef: the pod's own fields, never an address we could know
        return None, "a field of the pod", False
    origin = f"{kind} {namespace}/{r.get('name')} key {r.get('key')}"
    return (None if data is None else data.get(str(r.get("key")))), origin, secret


def _env_settings(container: Mapping[str, Any], namespace: str, sources: Sources) -> Iterator[Setting]:
    for item in container.get("env") or []:
        name = str(item.get("name", ""))
        if isinstance(item.get("value"), str):
            yield from _from_text(name, item["value"], "env")
        elif isinstance(item.get("valueFrom"), Mapping):
            value, origin, secret = _value_from(item["valueFrom"], namespace, sources)
            if value is not None:
                yield from _from_text(name, value, origin, secret=secret)
            elif (key := key_of(name)) is not None:
                yield Setting(key, name, None, origin, secret)
    for ref in container.get("envFrom") or []:
        prefix = str(ref.get("prefix") or "")
        for kind, field in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if not isinstance(ref.get(field), Mapping):
                continue
            obj = str(ref[field].get("name"))
            data = sources.secret(namespace, obj) if kind == "Secret" else sources.configmap(namespace, obj)
            origin = f"envFrom {kind} {namespace}/{obj}"
            for k, v in (data or {}).items():
                yield from _from_text(prefix + k, v, origin, secret=kind == "Secret")


def _expand(text: str, env: Mapping[str, str]) -> str:
    """``$(VAR)`` (Kubernetes) and ``${VAR}`` (a shell in ``sh -c``) replaced by the container's plain env."""
    return _VAR_REF.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), text)


def _arg_settings(container: Mapping[str, Any]) -> Iterator[Setting]:
    env = {str(e.get("name")): e["value"] for e in container.get("env") or [] if isinstance(e.get("value"), str)}
    raw = [str(a) for a in [*(container.get("command") or []), *(container.get("args") or [])]]
    argv = [tok for a in raw for tok in _expand(a, env).split()]  # "sh -c 'mqbroker -n x'" → its words

    def setting(key: str, name: str, value: str, origin: str) -> Setting:
        value = value.strip("'\"")
        return Setting(
            key, name, None if "$" in value else value, origin + (" (a variable we cannot see)" if "$" in value else "")
        )

    for i, arg in enumerate(argv):
        for k, v in _JAVA_OPT.findall(arg):  # also inside "sh -c 'java -Dx=y …'"
            if (key := key_of(k)) is not None:
                yield setting(key, k, v, "args (-D)")
        if (m := _SPRING_ARG.match(arg)) and (key := key_of(m.group(1))) is not None:
            yield setting(key, m.group(1), m.group(2), "args")
        if arg == "-n" and i + 1 < len(argv):  # mqbroker -n, mqproxy -n, mqadmin -n
            yield setting("namesrv", "-n", argv[i + 1], "args")


def _mounted_settings(
    pod_spec: Mapping[str, Any], container: Mapping[str, Any], namespace: str, sources: Sources
) -> Iterator[Setting]:
    volumes = {str(v.get("name")): v for v in pod_spec.get("volumes") or []}
    for mount in container.get("volumeMounts") or []:
        cm = (volumes.get(str(mount.get("name"))) or {}).get("configMap")
        if not isinstance(cm, Mapping):
            continue
        data = sources.configmap(namespace, str(cm.get("name"))) or {}
        for file_name, text in data.items():
            if file_name.endswith(_FILE_SUFFIXES):
                origin = f"ConfigMap {namespace}/{cm.get('name')} file {file_name}"
                for k, v in _file_pairs(file_name, text):
                    if (key := key_of(k)) is not None:
                        yield Setting(key, k, v, origin)


def container_settings(
    container: Mapping[str, Any],
    *,
    namespace: str = "default",
    pod_spec: Mapping[str, Any] | None = None,
    sources: Sources | None = None,
) -> tuple[Setting, ...]:
    """Every RocketMQ setting of one container, in the order found, without repeats."""
    src = sources or NoSources()
    found = [
        *_env_settings(container, namespace, src),
        *_arg_settings(container),
        *_mounted_settings(pod_spec or {}, container, namespace, src),
    ]
    seen: set[tuple[str, str, str | None, str]] = set()
    out = []
    for s in found:
        if (s.key, s.name, s.value, s.origin) not in seen:
            seen.add((s.key, s.name, s.value, s.origin))
            out.append(s)
    return tuple(out)


def names_rocketmq(settings: tuple[Setting, ...]) -> bool:
    """Whether the settings make a RocketMQ client: a stream binding alone may be Kafka's."""
    return any(s.key in ("namesrv", "endpoints") or "rocketmq" in s.name.lower() for s in settings)
