"""The message-drill catalog (``scenarios/catalog.yaml``): scenarios, causes, engines, impact, protections.

Loaded and cross-checked once per process; a broken catalog is an error naming the file and field.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from pydantic import Field, ValidationError, model_validator

from bridge.errors import DrillFileError, UnsupportedCombination
from bridge.spec.models import EngineName, LabelKey, LabelValue, Name, Strict

DEFAULT_CATALOG = Path(__file__).resolve().parents[2] / "scenarios" / "catalog.yaml"


class KubernetesDefaults(Strict):
    labels: dict[LabelKey, LabelValue]
    container: Name


class Component(Strict):
    title: str
    local_service: str
    port: int = Field(ge=1, le=65535)
    process: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    store_path: str | None = Field(default=None, pattern=r"^/[A-Za-z0-9_./-]{0,255}$")
    kubernetes: KubernetesDefaults


class Defaults(Strict):
    namespace: str
    topic: str = Field(pattern=r"^[A-Za-z0-9_%|-]{1,127}$")
    tag: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    producer_group: str = Field(pattern=r"^[A-Za-z0-9_%|-]{1,127}$")
    consumer_group: str = Field(pattern=r"^[A-Za-z0-9_%|-]{1,127}$")
    send_class: str = Field(pattern=r"^[A-Za-z_$][A-Za-z0-9_$.]{0,200}$")
    send_method: str = Field(pattern=r"^[A-Za-z_$][A-Za-z0-9_$]{0,100}$")


class Cause(Strict):
    description: str
    engines: list[EngineName] = Field(min_length=1)


class Protection(Strict):
    title: str
    description: str


class Scenario(Strict):
    name: Name
    title: str
    component: str
    causes: list[Name] = Field(min_length=1)
    predicted_impact: str
    protections: list[str] = Field(default_factory=list)


class Catalog(Strict):
    api_version: str = Field(alias="apiVersion", pattern=r"^mqdrill/v1$")
    kind: str = Field(pattern=r"^Catalog$")
    components: dict[str, Component]
    defaults: Defaults
    causes: dict[Name, Cause]
    protections: dict[Name, Protection]
    scenarios: list[Scenario] = Field(min_length=1)

    @model_validator(mode="after")
    def _cross_references(self) -> Catalog:
        names = [s.name for s in self.scenarios]
        if len(names) != len(set(names)):
            raise ValueError("scenario names must be unique")
        for s in self.scenarios:
            if s.component not in self.components:
                raise ValueError(f"scenario {s.name}: unknown component {s.component!r}")
            for c in s.causes:
                if c not in self.causes:
                    raise ValueError(f"scenario {s.name}: unknown cause {c!r}")
            for p in s.protections:
                if p not in self.protections:
                    raise ValueError(f"scenario {s.name}: unknown protection {p!r}")
        return self

    def scenario(self, name: str) -> Scenario:
        for s in self.scenarios:
            if s.name == name:
                return s
        known = ", ".join(s.name for s in self.scenarios)
        raise UnsupportedCombination(f"unknown scenario {name!r}; the catalog has: {known}")

    def engines_for(self, scenario: str, cause: str) -> list[EngineName]:
        """The engines that can produce ``scenario`` through ``cause``; refuses a cause the scenario lacks."""
        s = self.scenario(scenario)
        if cause not in s.causes:
            raise UnsupportedCombination(
                f"scenario {scenario!r} has no cause {cause!r}; its causes are: {', '.join(s.causes)}"
            )
        return list(self.causes[cause].engines)

    def check_engine(self, scenario: str, cause: str, engine: str) -> None:
        engines = self.engines_for(scenario, cause)
        if engine not in engines:
            raise UnsupportedCombination(
                f"engine {engine!r} cannot produce {scenario} by {cause}; engines that can: {', '.join(engines)}"
            )

    def default_cause(self, scenario: str, engine: str) -> str:
        """The scenario's first cause the engine supports."""
        s = self.scenario(scenario)
        for c in s.causes:
            if engine in self.causes[c].engines:
                return c
        raise UnsupportedCombination(f"no cause of {scenario!r} can be produced by engine {engine!r}")

    def entries(self) -> list[dict[str, object]]:
        """Every (scenario, cause) with its engines and predicted impact: what `mqdrill catalog` lists."""
        return [
            {
                "scenario": s.name,
                "title": s.title,
                "component": s.component,
                "cause": c,
                "engines": list(self.causes[c].engines),
                "predicted_impact": s.predicted_impact,
                "protections": list(s.protections),
            }
            for s in self.scenarios
            for c in s.causes
        ]


def catalog_path() -> Path:
    return Path(os.environ.get("MQDRILL_CATALOG", str(DEFAULT_CATALOG)))


@functools.cache
def _load(path: str) -> Catalog:
    from bridge.spec.loader import compose, line_of, read_text  # loader imports models only

    text = read_text(path)
    root = compose(text, path)
    import yaml

    data = yaml.safe_load(text)
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = tuple(err["loc"])
        field = ".".join(str(p) for p in loc) or None
        raise DrillFileError(
            path, err["msg"].removeprefix("Value error, "), line=line_of(root, loc), field=field
        ) from None


def load_catalog(path: str | Path | None = None) -> Catalog:
    """The catalog (cached per path). ``MQDRILL_CATALOG`` overrides the default location."""
    return _load(str(path or catalog_path()))
