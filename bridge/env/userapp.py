"""One more application in the embedded environment: the user's own process, from a config file.

``mqdrill env up --app app.yaml`` (or ``MQDRILL_APP=app.yaml``) starts it after the demo
applications and before Prometheus, health-checks it, restarts it after a local process fault
and stops it with ``env down``. The file::

    name: payments                     # a name: lowercase letters, digits, '-'
    command: ["/usr/bin/python3", "-m", "payments", "--port", "{port}"]
    port: 8075                         # optional: where it listens (default 8075 + port offset)
    health: /healthz                   # optional: HTTP path answering 2xx when ready (else TCP)
    metrics: /metrics                  # optional: Prometheus scrapes it
    env: {ROCKETMQ_ENDPOINT: "{rocketmq_endpoint}"}
    cwd: /srv/payments                 # optional

The command is an argv list started without a shell; a string is refused rather than split.
``{port}``, ``{rocketmq_endpoint}`` (a Toxiproxy listener in front of the proxy, so network
faults act on it), ``{namesrv}`` and ``{state_dir}`` are filled in, any other ``{name}`` is refused.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bridge.errors import DrillFileError
from bridge.spec.loader import compose, line_of, read_text

BUILT_IN = frozenset(
    {"redis", "toxiproxy", "namesrv", "broker", "proxy", "cartservice", "frontend",
     "orders", "fulfillment", "notifier", "prometheus", "user-app", "tools"}
)  # fmt: skip
PLACEHOLDERS = ("port", "rocketmq_endpoint", "namesrv", "state_dir")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
URL_PATH = r"^/[A-Za-z0-9._~/-]{0,200}$"


@dataclass(frozen=True)
class UserApp:
    """A validated user application (pure data; saved in ``env.json``)."""

    name: str
    argv: tuple[str, ...]
    port: int | None = None  # None: DEFAULT_PORTS["user_app"] + port offset
    health: str = ""  # "" → the TCP port is the health check
    metrics: str = ""  # "" → not scraped
    env: tuple[tuple[str, str], ...] = ()
    cwd: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "argv": list(self.argv), "port": self.port, "health": self.health,
                "metrics": self.metrics, "env": dict(self.env), "cwd": self.cwd}  # fmt: skip

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> UserApp:
        return cls(
            name=str(raw["name"]),
            argv=tuple(str(a) for a in raw["argv"]),
            port=int(raw["port"]) if raw.get("port") is not None else None,
            health=str(raw.get("health", "")),
            metrics=str(raw.get("metrics", "")),
            env=tuple((str(k), str(v)) for k, v in dict(raw.get("env", {})).items()),
            cwd=str(raw.get("cwd", "")),
        )

    def render(self, values: dict[str, str]) -> tuple[tuple[str, ...], dict[str, str]]:
        """argv and environment with the placeholders filled in."""

        def fill(text: str) -> str:
            return _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)

        return tuple(fill(a) for a in self.argv), {k: fill(v) for k, v in self.env}


Arg = Annotated[str, Field(min_length=1, max_length=4096)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,100}$")]


class _AppFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,30})$")]
    command: list[Arg] = Field(min_length=1, max_length=200)
    port: int | None = Field(default=None, ge=1024, le=65535)
    health: Annotated[str, Field(pattern=URL_PATH)] = ""
    metrics: Annotated[str, Field(pattern=URL_PATH)] = ""
    env: dict[EnvName, Annotated[str, Field(max_length=4096)]] = Field(default_factory=dict, max_length=100)
    cwd: Annotated[str, Field(max_length=4096)] = ""

    @field_validator("command", mode="before")
    @classmethod
    def _argv(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError("must be a list of arguments (argv), e.g. [\"/usr/bin/python3\", \"app.py\"]; "
                             "a command string is never run through a shell")  # fmt: skip
        return value

    @field_validator("name")
    @classmethod
    def _free_name(cls, value: str) -> str:
        if value in BUILT_IN:
            raise ValueError(f"{value!r} is a service of the embedded environment; choose another name")
        return value


def _check(model: _AppFile, file: str, root: yaml.Node) -> None:
    """What pydantic cannot see: placeholders, NUL bytes, an executable that exists."""
    texts: list[tuple[tuple[str | int, ...], str]] = [(("command", i), a) for i, a in enumerate(model.command)]
    texts += [(("env", k), v) for k, v in model.env.items()]
    for loc, text in texts:
        if "\x00" in text:
            raise DrillFileError(file, "contains a NUL byte", line=line_of(root, loc), field=_path(loc))
        for name in _PLACEHOLDER.findall(text):
            if name not in PLACEHOLDERS:
                raise DrillFileError(
                    file, f"unknown placeholder {{{name}}}: allowed {', '.join('{' + p + '}' for p in PLACEHOLDERS)}",
                    line=line_of(root, loc), field=_path(loc),
                )  # fmt: skip
    exe = model.command[0]
    found = shutil.which(exe) if "/" not in exe else (exe if Path(exe).is_file() else None)
    if found is None:
        where = "is not an executable file" if "/" in exe else "is not found on PATH"
        raise DrillFileError(file, f"{exe!r} {where}", line=line_of(root, ("command", 0)), field="command[0]")
    if model.cwd and not Path(model.cwd).is_dir():
        raise DrillFileError(file, f"{model.cwd!r} is not a directory", line=line_of(root, ("cwd",)), field="cwd")


def _path(loc: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(loc))


def parse_app(text: str, file: str) -> UserApp:
    """A user application from YAML text; errors name ``file``, the line and the field."""
    root = compose(text, file)
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise DrillFileError(file, "expected a mapping with `name` and `command`", line=1)
    try:
        model = _AppFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = tuple(first["loc"])
        msg = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            msg = "unknown key: allowed name, command, port, health, metrics, env, cwd"
        raise DrillFileError(file, msg, line=line_of(root, loc), field=_path(loc) or None) from None
    _check(model, file, root)
    return UserApp(
        name=model.name,
        argv=tuple(model.command),
        port=model.port,
        health=model.health,
        metrics=model.metrics,
        env=tuple(model.env.items()),
        cwd=model.cwd,
    )


def load_app(path: str | Path) -> UserApp:
    return parse_app(read_text(path), str(path))
