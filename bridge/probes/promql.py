"""The prometheus probe's core: service-level indicators read with PromQL, turned into probe rows.

For applications that cannot be probed synthetically (a pure consumer, a batch job), the
steady state is read from their own metrics. Each SLI is one PromQL expression evaluated over
the drill's span with ``/api/v1/query_range`` at ``step``; each step becomes one row of
``probe.csv``: ``t`` and ``sent`` the evaluation time, ``op`` the SLI's name, ``mode``
``prometheus``, ``ok`` whether the value met the objective (``max`` and/or ``min``),
``latency_ms`` the value in milliseconds when the SLI is a time (``unit: seconds`` or
``milliseconds``; empty otherwise), and ``error`` the value against its bound when it failed.
A step without a value (no series, or NaN such as a quantile over no messages) is a failure
``no data`` unless the SLI says ``no_data: skip``. An expression that yields several series is
judged by its worst one at each step; aggregate it (``sum``, ``max``) to say what you mean.

The PromQL text reaches Prometheus only as a URL-encoded query parameter, never a shell; it is
still checked here for what no PromQL needs (control characters, unbalanced brackets or
quotes, more than 4,000 characters), and :func:`preflight` asks the server to parse it.
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Literal

from bridge.errors import InputError, MqdrillError
from bridge.probes.rows import ProbeRow

MODE = "prometheus"
MAX_QUERY_CHARS = 4000
URL = re.compile(r"^https?://[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?$")
Unit = Literal["seconds", "milliseconds", "ratio", "count"]
_CLOSE = {")": "(", "]": "[", "}": "{"}


class PromQueryError(MqdrillError):
    """Prometheus could not be reached or refused a query."""


@dataclass(frozen=True)
class Sli:
    """One indicator: a PromQL expression and its objective."""

    name: str
    query: str
    unit: Unit = "ratio"
    max: float | None = None  # ok when value <= max
    min: float | None = None  # ok when value >= min
    no_data: Literal["fail", "skip"] = "fail"

    def judge(self, value: float) -> tuple[bool, str]:
        """Whether ``value`` meets the objective, and if not, why (in the SLI's unit)."""
        if math.isnan(value):
            return False, "no data"
        if self.max is not None and value > self.max:
            return False, f"{value:.6g} > max {self.max:g} ({self.unit})"
        if self.min is not None and value < self.min:
            return False, f"{value:.6g} < min {self.min:g} ({self.unit})"
        return True, ""

    def worse(self, a: float, b: float) -> float:
        """The worse of two values under this objective (NaN is worst)."""
        if math.isnan(a) or math.isnan(b):
            return math.nan
        return min(a, b) if self.min is not None and self.max is None else max(a, b)

    def latency_ms(self, value: float) -> float | None:
        if math.isnan(value) or self.unit not in ("seconds", "milliseconds"):
            return None
        return value * 1000.0 if self.unit == "seconds" else value


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a Prometheus base URL (http or https, host, optional port and path)."""
    if not URL.match(url):
        return f"{url!r} is not an http(s) URL such as http://127.0.0.1:9095"
    return None


def query_problem(query: str) -> str | None:
    """What no PromQL expression needs: checked before anything is sent anywhere."""
    if not query.strip():
        return "the query is empty"
    if len(query) > MAX_QUERY_CHARS:
        return f"the query has {len(query)} characters; at most {MAX_QUERY_CHARS}"
    if any(ord(c) < 32 and c not in "\n\t" for c in query):
        return "the query contains a control character"
    stack: list[str] = []
    quote = ""
    escaped = False
    for c in query:
        if quote:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == quote:
                quote = ""
        elif c in "\"'`":
            quote = c
        elif c in "([{":
            stack.append(c)
        elif c in _CLOSE and (not stack or stack.pop() != _CLOSE[c]):
            return f"unbalanced {c!r} in the query"
    if quote:
        return f"unterminated {quote} string in the query"
    if stack:
        return f"unclosed {stack[-1]!r} in the query"
    return None


def sli_problems(sli: Sli) -> list[str]:
    out = []
    if (p := query_problem(sli.query)) is not None:
        out.append(p)
    if sli.max is None and sli.min is None:
        out.append("an SLI needs an objective: max, min or both")
    if sli.max is not None and sli.min is not None and sli.min > sli.max:
        out.append(f"min {sli.min:g} is above max {sli.max:g}")
    return out


def query_range_url(base: str, query: str, *, start: float, end: float, step_s: float) -> str:
    params = urllib.parse.urlencode(
        {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step_s:g}"}
    )
    return f"{base.rstrip('/')}/api/v1/query_range?{params}"


def _get_json(url: str, timeout_s: float) -> dict[str, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:  # noqa: S310 - URL checked by url_problem
            body = json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        try:
            said = str(json.loads(exc.read()).get("error", ""))
        except ValueError:
            said = ""
        raise PromQueryError(f"HTTP {exc.code}: {said or exc.reason}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise PromQueryError(f"cannot query Prometheus: {exc}") from exc
    if not isinstance(body, dict) or body.get("status") != "success":
        said = body.get("error", "") if isinstance(body, dict) else ""
        raise PromQueryError(f"Prometheus refused the query: {said}")
    return body


def query_range(base: str, query: str, *, start: float, end: float, step_s: float, timeout_s: float = 10.0) -> Any:
    """The ``data.result`` of a range query (a list of ``{metric, values}``)."""
    body = _get_json(query_range_url(base, query, start=start, end=end, step_s=step_s), timeout_s)
    data = body.get("data") or {}
    if data.get("resultType") != "matrix":
        raise PromQueryError(f"expected a matrix, got {data.get('resultType')!r}")
    return data.get("result") or []


def steps(start: float, end: float, step_s: float) -> list[float]:
    """The evaluation times Prometheus uses for ``start..end`` at ``step`` (start, start+step, …)."""
    # at Unix-time magnitudes a span of whole steps divides to 3.9999998: allow a thousandth of a step
    n = int(math.floor((end - start) / step_s + 1e-3)) + 1 if end >= start else 0
    return [round(start + i * step_s, 3) for i in range(n)]


def worst_by_step(sli: Sli, result: Any) -> dict[float, float]:
    """Step time → the worst value over every series of ``result`` at that step."""
    out: dict[float, float] = {}
    for series in result if isinstance(result, list) else []:
        for pair in series.get("values") or [] if isinstance(series, dict) else []:
            try:
                t, v = round(float(pair[0]), 3), float(pair[1])
            except (TypeError, ValueError, IndexError):
                continue
            out[t] = sli.worse(out[t], v) if t in out else v
    return out


def rows_for(sli: Sli, result: Any, *, start: float, end: float, step_s: float) -> list[ProbeRow]:
    """One row per evaluation step of ``start..end`` (a missing step is "no data")."""
    values = worst_by_step(sli, result)
    rows = []
    for t in steps(start, end, step_s):
        value = values.get(t, math.nan)
        if math.isnan(value) and sli.no_data == "skip":
            continue
        ok, why = sli.judge(value)
        rows.append(ProbeRow(t, t, sli.latency_ms(value), ok, sli.name, MODE, None, why))
    return rows


def collect(
    base: str, slis: list[Sli], *, start: float, end: float, step_s: float, timeout_s: float = 10.0
) -> list[ProbeRow]:
    """Rows of every SLI over ``start..end``; a query Prometheus refuses leaves one failure row."""
    out: list[ProbeRow] = []
    for sli in slis:
        try:
            result = query_range(base, sli.query, start=start, end=end, step_s=step_s, timeout_s=timeout_s)
        except PromQueryError as exc:
            out.append(ProbeRow(end, None, None, False, sli.name, MODE, None, f"query failed: {exc}"))
            continue
        out.extend(rows_for(sli, result, start=start, end=end, step_s=step_s))
    return out


def preflight(base: str, slis: list[Sli], *, timeout_s: float = 5.0) -> None:
    """Refuse a bad URL, a bad SLI, an unreachable server or a query it cannot parse."""
    if (p := url_problem(base)) is not None:
        raise InputError(f"prometheus: url: {p}")
    for sli in slis:
        problems = sli_problems(sli)
        if problems:
            raise InputError(f"prometheus: sli {sli.name!r}: {'; '.join(problems)}")
        params = urllib.parse.urlencode({"query": sli.query})
        try:
            _get_json(f"{base.rstrip('/')}/api/v1/query?{params}", timeout_s)
        except PromQueryError as exc:
            raise InputError(f"prometheus: sli {sli.name!r}: {exc}") from exc
