"""The small HTTP types providers speak: a request to send and a response to parse.

Providers build an `HttpRequest` and parse an `HttpResponse` without doing I/O, so that
one provider serves the sync and the async client alike, and third-party providers do not
depend on the HTTP library or its version. The clients turn these into httpx calls.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ._json import decode

__all__ = [
    "HttpRequest",
    "HttpResponse",
    "SENSITIVE_HEADERS",
    "redact_headers",
    "display_url",
    "url_credentials",
]

#: Header names whose values are secrets; they are masked in every repr.
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "api-key",
        "x-api-key",
        "proxy-authorization",
        "cookie",
        # AWS temporary credentials' session token, sent beside a SigV4 signature.
        "x-amz-security-token",
    }
)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """A copy of `headers` with the values of secret-bearing headers masked."""
    return {k: ("***" if k.lower() in SENSITIVE_HEADERS else v) for k, v in headers.items()}


@functools.lru_cache(maxsize=256)
def display_url(url: str) -> str:
    """`url` fit for a message or a log line: no `user:password@`, query or fragment.

    A base URL may carry credentials (`http://user:secret@host`) and a query string may
    carry a key; use this wherever a URL is shown. Memoised (a process calls a handful
    of URLs, and life-cycle hooks ask for each call's twice: 2.3 µs each time uncached).
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: strip what looks like userinfo
        return _USERINFO.sub("//", url).split("?", 1)[0].split("#", 1)[0]
    netloc = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=netloc, query="", fragment="").geturl()


def url_credentials(url: str | None) -> str | None:
    """The `user:password` part of `url`, if it has one (to mask it wherever it shows)."""
    if not url or "@" not in url:
        return None
    try:
        netloc = urlsplit(url).netloc
    except ValueError:
        match = _USERINFO.search(url)
        return match.group(1) if match else None
    userinfo = netloc.rpartition("@")[0]
    return userinfo or None


_USERINFO = re.compile(r"//([^/?#]*)@")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """What a provider wants sent: method, absolute URL, headers and a JSON body.

    `content`, when set, is the body's exact bytes, sent verbatim instead of serializing
    `json` (which should then describe the same body, for tests and logs): a provider that
    signs its body (AWS SigV4 hashes the payload) needs the bytes on the wire to be the
    bytes it signed, whichever HTTP client sends them. Set its content type in `headers`.
    """

    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None

    def __repr__(self) -> str:
        return (
            f"HttpRequest(method={self.method!r}, url={display_url(self.url)!r}, "
            f"headers={redact_headers(self.headers)!r})"
        )


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """What came back: status, headers (names lower-cased) and the raw body."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes replaced)."""
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (as `json.loads` parses it, faster with orjson installed);
        raises `ValueError` when it is not JSON."""
        return decode(self.content)

    def __repr__(self) -> str:
        return f"HttpResponse(status_code={self.status_code}, bytes={len(self.content)})"
