"""Declaration parts shared by the HTTP-speaking kinds (``http``, ``eventually``): a request, its
success criteria and its captures. Syntax is checked here (templates parse, JSON paths parse,
regular expressions compile, URLs are URLs); which names a template may use is checked by the
kind, which knows what values exist at that point.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from bridge.probes import jsonpath, template
from bridge.spec.base import HTTP_URL, Duration, Strict, seconds

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
StatusClass = Annotated[str, Field(pattern=r"^[1-5]xx$")]
HeaderName = Annotated[str, Field(pattern=r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")]
Scalar = str | int | float | bool
_URL = re.compile(HTTP_URL)
MAX_REGEX = 500


def _template(text: str, what: str) -> str:
    try:
        template.parse(text)
    except ValueError as exc:
        raise ValueError(f"{what}: {exc}") from None
    return text


def check_url(text: str) -> str:
    """An absolute http(s) URL or a path starting with '/' (joined to the probe's base_url);
    placeholders allowed in the path and query, never in the scheme or host."""
    _template(text, "url")
    if text.startswith("/"):
        if any(c in text for c in " \"'<>\\^`|"):
            raise ValueError(f"{text!r} is not a URL path (spaces, quotes or '<>\\^`|' are not allowed)")
        return text
    head = text.split("{", 1)[0]
    host_end = head.find("/", head.find("//") + 2) if "//" in head else -1
    if not _URL.match(text.replace("{", "x").replace("}", "x")) or ("{" in text and host_end < 0):
        raise ValueError(
            f"{text!r} is not a URL: give http(s)://host[:port]/path, or a path starting with '/' "
            "(placeholders only after the host)"
        )
    return text


def check_regex(text: str) -> str:
    if len(text) > MAX_REGEX:
        raise ValueError(f"regular expression longer than {MAX_REGEX} characters")
    probe = template.parse(text)  # placeholders are inserted escaped, so compile with a stand-in
    try:
        re.compile(probe.render(dict.fromkeys(probe.names, "x")))
    except re.error as exc:
        raise ValueError(f"not a regular expression ({exc}): {text!r}") from None
    return text


def check_path(text: str) -> str:
    jsonpath.parse(text)
    return text


class Expect(Strict):
    """When an answer counts as success: its status, and optionally its body."""

    status: list[int | StatusClass] = Field(
        default_factory=lambda: list[int | str](["2xx", "3xx"]),
        min_length=1,
        description="codes (201) or classes ('2xx')",
    )
    json_path: str | None = Field(default=None, description="the body is JSON and this path selects a value")
    equals: Scalar | None = Field(default=None, description="with json_path: some selected value equals this")
    regex: str | None = Field(default=None, description="the body (as text) matches this regular expression")

    @field_validator("status")
    @classmethod
    def _codes(cls, value: list[int | str]) -> list[int | str]:
        for code in value:
            if isinstance(code, int) and not 100 <= code <= 599:
                raise ValueError(f"HTTP status {code} is not between 100 and 599")
        return value

    @field_validator("json_path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else check_path(value)

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        return None if value is None else check_regex(value)

    @field_validator("equals")
    @classmethod
    def _equals(cls, value: Scalar | None) -> Scalar | None:
        return _template(value, "equals") if isinstance(value, str) else value

    @model_validator(mode="after")
    def _equals_needs_path(self) -> Expect:
        if self.equals is not None and self.json_path is None:
            raise ValueError("`equals` compares what `json_path` selects; give a json_path too")
        return self

    def templates(self) -> dict[str, str]:
        out = {"regex": self.regex} if self.regex else {}
        if isinstance(self.equals, str):
            out["equals"] = self.equals
        return out


class Capture(Strict):
    """A value taken from the answer for later steps: exactly one of json_path, regex (group 1, or
    the whole match), header."""

    json_path: str | None = None
    regex: str | None = None
    header: HeaderName | None = None

    @field_validator("json_path")
    @classmethod
    def _path(cls, value: str | None) -> str | None:
        return None if value is None else check_path(value)

    @field_validator("regex")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None and "{" in value and template.parse(value).names:
            raise ValueError("a capture's regex takes no placeholders")
        return None if value is None else check_regex(value)

    @model_validator(mode="after")
    def _one(self) -> Capture:
        given = [k for k in ("json_path", "regex", "header") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a capture takes exactly one of `json_path`, `regex` or `header`")
        return self


class Request(Strict):
    """One HTTP exchange. ``url`` may be a path joined to the probe's ``base_url``."""

    method: Method = "GET"
    url: str = Field(max_length=2000, description="absolute URL or '/path'; placeholders like {order_id} allowed")
    headers: dict[HeaderName, str] = Field(default_factory=dict, max_length=50)
    form: dict[Annotated[str, Field(max_length=200)], Scalar] | None = Field(
        default=None, description="a form body (application/x-www-form-urlencoded)"
    )
    json_body: Any = Field(default=None, alias="json", description="a JSON body; placeholders in its strings")
    timeout: Duration | None = Field(default=None, description="default: the probe's timeout")
    expect: Expect = Field(default_factory=Expect)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return check_url(value)

    @field_validator("timeout", mode="before")
    @classmethod
    def _timeout(cls, value: Any) -> float | None:
        return None if value is None else seconds(value, minimum=0.01, field_name="timeout")

    @field_validator("headers")
    @classmethod
    def _headers(cls, value: dict[str, str]) -> dict[str, str]:
        for k, v in value.items():
            if "\n" in v or "\r" in v:
                raise ValueError(f"header {k!r} holds a line break")
            _template(v, f"header {k}")
        return value

    @field_validator("form")
    @classmethod
    def _form(cls, value: dict[str, Scalar] | None) -> dict[str, Scalar] | None:
        for k, v in (value or {}).items():
            if isinstance(v, str):
                _template(v, f"form field {k}")
        return value

    @field_validator("json_body")
    @classmethod
    def _json(cls, value: Any) -> Any:
        for text in _strings(value):
            _template(text, "json")
        return value

    @model_validator(mode="after")
    def _one_body(self) -> Request:
        if self.form is not None and self.json_body is not None:
            raise ValueError("give either `form` or `json` as the body, not both")
        return self

    def templates(self) -> dict[tuple[str | int, ...], str]:
        """Every templated string, by its field path below the request (for name checks)."""
        out: dict[tuple[str | int, ...], str] = {("url",): self.url}
        out.update({("headers", k): v for k, v in self.headers.items()})
        out.update({("form", k): v for k, v in (self.form or {}).items() if isinstance(v, str)})
        out.update({("json", i): s for i, s in enumerate(_strings(self.json_body))})
        out.update({("expect", k): v for k, v in self.expect.templates().items()})
        return out


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [*_strings(k), *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def check_names(
    templates: dict[tuple[str | int, ...], str], known: frozenset[str], where: tuple[str | int, ...]
) -> None:
    """Raise ProbeFieldError at the first template naming a value not in ``known``."""
    from bridge.probes.contract import ProbeFieldError

    for loc, text in templates.items():
        missing = template.unknown_names(template.parse(text), known)
        if missing:
            raise ProbeFieldError(
                (*where, *loc),
                f"{text!r} names unknown value(s) {', '.join(missing)}; known here: {', '.join(sorted(known))}",
            )
