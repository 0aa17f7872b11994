"""Probe kind ``prometheus``: service-level indicators from the application's own metrics.

For what cannot be probed synthetically (a pure consumer, a batch job), each SLI is a PromQL
expression read with ``/api/v1/query_range``; every evaluation step becomes a row (see
:mod:`bridge.probes.promql`). It sends no traffic: at start it reads the last ``history``
seconds (so the drill's preflight has samples at once; those rows precede the baseline and
count in no window), while the drill runs it reads the newest span every ``every`` seconds,
``lag`` behind now (scrape and ingestion delay), and the rest after the stop.

Declaration::

    - kind: prometheus
      name: notifier
      url: http://127.0.0.1:9095      # the Prometheus server (the embedded environment runs one)
      step: 1s
      slis:
        - name: notifier_delay_p95    # the rows' op
          query: histogram_quantile(0.95, sum by (le) (rate(notifier_consume_delay_seconds_bucket[10s])))
          unit: seconds               # seconds | milliseconds | ratio | count
          max: 2                      # ok when the value <= max (and/or min: ok when >= min)
          objective: {success_ratio_min: 0.9}   # share of steps that must be ok

The PromQL travels only as a URL-encoded parameter; it never reaches a shell.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from bridge.errors import InputError
from bridge.probes import promql
from bridge.probes.contract import (
    BuildContext,
    KindSpec,
    Objective,
    OperationInfo,
    ProbeDeclaration,
    ProbeEnv,
    ProbeFieldError,
    ProbeUnavailable,
    Sampling,
    Scope,
)
from bridge.probes.rows import ProbeRow
from bridge.spec.base import Duration, Ident, Strict, seconds


class SliDecl(Strict):
    """One indicator: a PromQL expression, its unit and its bound."""

    name: Ident = Field(description="the rows' op")
    query: str = Field(max_length=promql.MAX_QUERY_CHARS, description="PromQL, evaluated with query_range")
    unit: promql.Unit = "ratio"
    max: float | None = Field(default=None, description="ok when the value is at most this")
    min: float | None = Field(default=None, description="ok when the value is at least this")
    no_data: Literal["fail", "skip"] = Field(default="fail", description="a step without a value: a failure, or no row")
    objective: Objective | None = Field(default=None, description="default: steady_state.slo")

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        problem = promql.query_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _bound(self) -> SliDecl:
        if self.max is None and self.min is None:
            raise ValueError("an SLI needs a bound: max, min or both")
        if self.max is not None and self.min is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is above max {self.max:g}")
        return self

    def core(self) -> promql.Sli:
        return promql.Sli(self.name, self.query, self.unit, self.max, self.min, self.no_data)


class PrometheusProbe(ProbeDeclaration):
    """SLIs read from Prometheus with PromQL (query_range); no traffic of its own."""

    kind: Literal["prometheus"]
    url: str = Field(max_length=500, description="the Prometheus server, e.g. http://127.0.0.1:9095")
    step: Duration = Field(default=1.0, description="evaluation step")
    every: Duration = Field(default=5.0, description="read the newest span this often while the drill runs")
    lag: Duration = Field(default=3.0, description="read this far behind now (scrape and ingestion delay)")
    history: Duration = Field(
        default=15.0, description="read this much of the past at start, so the preflight has samples at once"
    )
    timeout: Duration = Field(default=10.0, description="per query")
    slis: list[SliDecl] = Field(min_length=1, max_length=20)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        problem = promql.url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("history", mode="before")
    @classmethod
    def _history(cls, value: Any) -> float:
        return seconds(value, minimum=0, field_name="history")

    @field_validator("step", "every", "lag", "timeout", mode="before")
    @classmethod
    def _durations(cls, value: Any) -> float:
        return seconds(value, minimum=0.1, field_name="a duration")

    def measured(self) -> tuple[OperationInfo, ...]:
        out = []
        for sli in self.slis:
            objective = sli.objective or Objective()
            if objective.lag_max is None and sli.max is not None and sli.unit != "ratio":
                objective = objective.model_copy(update={"lag_max": sli.max})
            out.append(OperationInfo(sli.name, "lag", objective, promql.MODE))
        return tuple(out)

    def sampling(self, upstream: Mapping[str, Sampling], unanswered_s: float) -> dict[str, Sampling]:
        # One row per step and SLI, at the step's time. A row's figure in seconds or milliseconds is
        # read by the analysis as its outcome's duration (healthy: at most `max`); a row without one
        # ends `unanswered_s` after its step. Rows reach the live figures `lag` behind, read every
        # `every` seconds (each query within `timeout`); at the start, `history` up to `lag` ago.
        out = {}
        for sli in self.slis:
            bound = unanswered_s
            if sli.max is not None and sli.unit in ("seconds", "milliseconds"):
                bound = max(bound, sli.max if sli.unit == "seconds" else sli.max / 1000.0)
            ready = self.lag + self.every + self.timeout
            out[sli.name] = Sampling(1.0 / self.step, bound, ready, max(0.0, self.history - self.lag), "step")
        return out

    def cross_check(self, scope: Scope) -> None:
        seen: set[str] = set()
        for i, sli in enumerate(self.slis):
            if sli.name in seen:
                raise ProbeFieldError(("slis", i, "name"), f"SLI name {sli.name!r} is used twice")
            seen.add(sli.name)


class PrometheusDriver:
    """Reads the SLIs span by span; every step of the drill gets one row per SLI."""

    def __init__(self, decl: PrometheusProbe, ctx: BuildContext) -> None:
        self.decl = decl
        self.name = decl.name
        self.slis = [s.core() for s in decl.slis]
        self.flow_bound_s = decl.lag + decl.timeout  # no flows; the stop waits for the last span read in run()
        self.in_flight_limit = 1
        self._next = 0  # the first evaluation step not read yet, as a multiple of `step` (set by prepare)

    async def prepare(self, env: ProbeEnv) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(None, lambda: promql.preflight(self.decl.url, self.slis))
        except InputError as exc:
            raise ProbeUnavailable(str(exc)) from exc
        # The recent past, read at once: the drill's preflight judges it with the first seconds of probing.
        # These rows lie before the baseline starts, so no window of the analysis counts them.
        now = env.wall(loop.time())
        self._next = math.ceil((now - self.decl.history) / self.decl.step)
        await self._read(env, now - self.decl.lag)

    async def run(self, env: ProbeEnv) -> None:
        loop = asyncio.get_running_loop()
        while not env.stopping:
            await asyncio.sleep(min(self.decl.every, 0.2))
            if env.wall(loop.time()) - self.decl.lag - self._next * self.decl.step >= self.decl.every:
                await self._read(env, env.wall(loop.time()) - self.decl.lag)
        stopped = env.wall(loop.time())
        await asyncio.sleep(self.decl.lag)  # let the last scrapes land before reading up to the stop
        await self._read(env, stopped)

    async def _read(self, env: ProbeEnv, until: float) -> None:
        # Step indices are integers so that spans meet exactly: no step read twice, none skipped.
        step = self.decl.step
        last = math.floor(until / step + 1e-9)
        if last < self._next:
            return
        start, end = round(self._next * step, 6), round(last * step, 6)
        self._next = last + 1
        d = self.decl

        def collect() -> list[ProbeRow]:
            return promql.collect(d.url, self.slis, start=start, end=end, step_s=step, timeout_s=d.timeout)

        for row in await asyncio.get_running_loop().run_in_executor(None, collect):
            env.emit(row)


def build(decl: PrometheusProbe, ctx: BuildContext) -> PrometheusDriver:
    return PrometheusDriver(decl, ctx)


KIND = KindSpec(name="prometheus", declaration=PrometheusProbe, build=build, role="driver")
