"""Masking secrets in collected text: what a log file says about passwords, tokens and keys never reaches a run.

Line by line (with a little state for PEM private-key blocks). Erring on the side of masking:
a key name that merely *looks* secret (``author=…`` contains ``auth``) is masked too. What is
caught: ``key=value`` / ``key: value`` / JSON / XML pairs whose key names a password, secret,
token, credential, access/secret/API key, session or cookie; ``Authorization``/``Cookie``
headers; bearer tokens; credentials in URLs (``scheme://user:pass@host``); command-line flags
(``--password x``); well-known token shapes (AWS and Alibaba Cloud key ids, JWTs, GitHub and
Slack tokens); PEM private keys.
"""

from __future__ import annotations

import re

MASK = "***"
_SCHEMES = {"bearer", "basic", "digest", "token", "negotiate", "aws4-hmac-sha256", "hmac"}

_SECRET_WORD = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|credential|auth|api[_-]?key|apikey|access[_-]?key|"
    r"secret[_-]?key|private[_-]?key|client[_-]?secret|session[_-]?id|sessionid|cookie|signature|sign[_-]?key"
)
_KEY = rf"[\w.\-]*(?:{_SECRET_WORD})[\w.\-]*"

# Headers whose whole value is a credential; the scheme word (Bearer, Basic, …) is kept.
_HEADER = re.compile(
    r"(?i)\b((?:proxy-)?authorization|x-api-key|x-auth-token|cookie|set-cookie)([\"']?\s*[:=]\s*[\"']?)"
    r"(?:(bearer|basic|digest|token|negotiate|aws4-hmac-sha256|hmac)\s+)?([^\"'\r\n]*)"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+([A-Za-z0-9\-._~+/]{6,}=*)")
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://)([^/\s@\"'<>]+)@")
_XML = re.compile(rf"(?i)<({_KEY})>([^<]*)</\1>")
_FLAG = re.compile(rf"(?i)(?<![\w-])(--?{_KEY})(\s+)(?![-\s])(\S+)")
_PAIR = re.compile(rf"(?i)(?<![\w.\-])({_KEY})([\"']?\s*(?:=>|:=|=|:)\s*)(\"[^\"]*\"|'[^']*'|[^\s\"',;&}}\])]+)")
_TOKEN_SHAPES = re.compile(
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key id
    r"|\bLTAI[0-9A-Za-z]{12,24}\b"  # Alibaba Cloud AccessKey id
    r"|\beyJ[\w-]{5,}\.eyJ[\w-]{5,}\.[\w-]{5,}"  # JWT
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}\b"  # GitHub token
    r"|\bxox[abposr]-[A-Za-z0-9-]{10,}"  # Slack token
)
_PEM_BEGIN = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")
_PEM_END = re.compile(r"-----END [A-Z ]*PRIVATE KEY-----")


def _pair(match: re.Match[str]) -> str:
    value = match.group(3)
    if MASK in value or (value.lower() in _SCHEMES and "authorization" in match.group(1).lower()):
        return match.group(0)  # already masked by the header rule, which kept the scheme word
    if value[:1] in "\"'" and len(value) >= 2:
        return f"{match.group(1)}{match.group(2)}{value[0]}{MASK}{value[0]}"
    return f"{match.group(1)}{match.group(2)}{MASK}"


def _header(match: re.Match[str]) -> str:
    # A lone scheme-like word with nothing after it is the credential itself, not a scheme.
    scheme = f"{match.group(3)} " if match.group(3) and match.group(4).strip() else ""
    return f"{match.group(1)}{match.group(2)}{scheme}{MASK}"


def mask_line(line: str) -> str:
    """Mask the secrets in one line (no state: PEM blocks need :class:`Masker`)."""
    line = _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{MASK}@", line)
    line = _HEADER.sub(_header, line)
    line = _XML.sub(lambda m: f"<{m.group(1)}>{MASK}</{m.group(1)}>", line)
    line = _FLAG.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", line)
    line = _PAIR.sub(_pair, line)
    line = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", line)  # after pairs: "basic password=x" is a pair
    return _TOKEN_SHAPES.sub(MASK, line)


class Masker:
    """Masks a stream of lines; remembers whether it is inside a PEM private-key block."""

    def __init__(self) -> None:
        self._in_pem = False

    def __call__(self, line: str) -> str:
        ending = line[len(line.rstrip("\r\n")) :]
        if self._in_pem:
            if _PEM_END.search(line):
                self._in_pem = False
                return line
            return MASK + ending
        if _PEM_BEGIN.search(line) and not _PEM_END.search(line):
            self._in_pem = True
            return line
        if _PEM_BEGIN.search(line):  # a whole key on one line (escaped newlines in JSON, say)
            return re.sub(r"(-----BEGIN [A-Z ]*PRIVATE KEY-----).*?(-----END)", rf"\1{MASK}\2", line)
        return mask_line(line)


def mask_text(text: str) -> str:
    masker = Masker()
    return "".join(masker(line) for line in text.splitlines(keepends=True))
