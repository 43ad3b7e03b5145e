"""CORS for browsers calling the proxy directly: off unless `general_settings.cors` is set.

```yaml
general_settings:
  cors:
    allow_origins: ["https://search.example.com"]   # exact origins, or ["*"]
    allow_methods: [GET, POST]                      # default: GET, POST
    allow_headers: [authorization, content-type]    # default: these and x-request-id
    allow_credentials: false                        # true needs exact origins
    max_age: 600                                    # seconds a preflight is cached
```

`CorsMiddleware` wraps the app only when configured, so without CORS a request pays
nothing. A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) is
answered here, without a key: 204 with the allowed methods, headers and max age when the
origin, method and headers are allowed, else 403 with the usual error body. Other requests
from an allowed origin get `Access-Control-Allow-Origin` (and `Expose-Headers`, so a page
can read `x-request-id` and `retry-after`); from any other origin they are answered as
usual without CORS headers, which the browser then refuses to hand to the page. Origins
are compared exactly (scheme, host and port, as browsers send them); an answer echoes an
origin only when it is in the configured list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["CorsSettings", "CorsMiddleware", "parse_cors"]

# The ASGI types of `asgi.py`, repeated: this module sits below `config` (which holds its
# settings), and `asgi` above it.
Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_DEFAULT_METHODS = ("GET", "POST")
_DEFAULT_HEADERS = ("authorization", "content-type", "x-request-id")
#: Answer headers a page may read (the CORS-safelisted ones need no mention).
_EXPOSED = b"x-request-id, x-rerankit-deployment, x-rerankit-upstream-ms, retry-after"
_ORIGIN = re.compile(
    r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?|https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?"
)
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_MAX_ORIGINS = 1000
#: Header names one preflight may ask for.
_MAX_REQUESTED = 64
#: Browsers cap a preflight's cache (Chromium: 2 h, Firefox: 24 h).
_MAX_AGE = 86_400


@dataclass(frozen=True, slots=True)
class CorsSettings:
    """Which browser origins may call the proxy, with which methods and headers."""

    #: Exact origins (`https://app.example.com`), or `("*",)` for any.
    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = _DEFAULT_METHODS
    #: Lower-case header names a request may carry.
    allow_headers: tuple[str, ...] = _DEFAULT_HEADERS
    allow_credentials: bool = False
    max_age: int = 600

    @property
    def any_origin(self) -> bool:
        """Whether every origin is allowed (`"*"`)."""
        return self.allow_origins == ("*",)


Error = Callable[[str, str, str], Exception]


def _texts(error: Error, where: str, value: Any, pattern: re.Pattern[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not value:
        raise error(where, f"must be a non-empty list of strings, got {value!r}.", "")
    if len(value) > _MAX_ORIGINS:
        raise error(where, f"has {len(value)} entries; at most {_MAX_ORIGINS}.", "")
    for item in value:
        if not isinstance(item, str) or not (item == "*" or pattern.fullmatch(item)):
            raise error(where, f"has {item!r}, which is not allowed here.", "")
    return tuple(value)


def parse_cors(error: Error, where: str, value: Any) -> CorsSettings | None:
    """`general_settings.cors` checked; None when absent. `error(where, problem, fix)`
    makes the exception to raise (the config reader's, naming the file)."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise error(where, f"must be a mapping, got {value!r}.", "See docs/deployment.md.")
    known = {"allow_origins", "allow_methods", "allow_headers", "allow_credentials", "max_age"}
    unknown = sorted(set(value) - known)
    if unknown:
        allowed = ", ".join(sorted(known))
        raise error(f"{where}.{unknown[0]}", "is not a known setting.", f"Allowed: {allowed}.")
    if "allow_origins" not in value:
        raise error(
            f"{where}.allow_origins",
            "is required: the origins browsers may call from.",
            'E.g. allow_origins: ["https://app.example.com"].',
        )
    origins = _texts(error, f"{where}.allow_origins", value["allow_origins"], _ORIGIN)
    if "*" in origins and len(origins) > 1:
        raise error(f"{where}.allow_origins", '"*" must be the only entry.', "")
    origins = tuple(o if o == "*" else o.lower() for o in origins)
    methods = _texts(
        error, f"{where}.allow_methods", value.get("allow_methods", _DEFAULT_METHODS), _TOKEN
    )
    headers = _texts(
        error, f"{where}.allow_headers", value.get("allow_headers", _DEFAULT_HEADERS), _TOKEN
    )
    credentials = value.get("allow_credentials", False)
    if not isinstance(credentials, bool):
        problem = f"must be true or false, got {credentials!r}."
        raise error(f"{where}.allow_credentials", problem, "")
    if credentials and origins == ("*",):
        raise error(
            f"{where}.allow_credentials",
            'cannot be true with allow_origins "*" (browsers refuse it, and it would let '
            "any site call the proxy with its visitors' credentials).",
            "List the exact origins instead.",
        )
    max_age = value.get("max_age", 600)
    if isinstance(max_age, bool) or not isinstance(max_age, int) or not 0 <= max_age <= _MAX_AGE:
        raise error(
            f"{where}.max_age", f"must be a whole number of seconds from 0 to {_MAX_AGE}.", ""
        )
    return CorsSettings(
        allow_origins=origins,
        allow_methods=tuple(dict.fromkeys(m.upper() for m in methods)),
        allow_headers=tuple(dict.fromkeys(h.lower() for h in headers)),
        allow_credentials=credentials,
        max_age=max_age,
    )


class CorsMiddleware:
    """ASGI middleware answering preflights and marking answers to allowed origins."""

    def __init__(self, app: ASGIApp, settings: CorsSettings) -> None:
        self.app = app
        self.settings = settings
        self._origins = frozenset(o.encode() for o in settings.allow_origins)
        self._methods = frozenset(settings.allow_methods)
        self._any_header = "*" in settings.allow_headers
        self._headers = frozenset(settings.allow_headers)
        self._preflight_headers = [
            (b"access-control-allow-methods", ", ".join(settings.allow_methods).encode()),
            (b"access-control-max-age", str(settings.max_age).encode()),
        ]
        self._credentials = (
            [(b"access-control-allow-credentials", b"true")] if settings.allow_credentials else []
        )

    def _allowed(self, origin: bytes) -> bytes | None:
        """The `Access-Control-Allow-Origin` value for `origin`, or None."""
        if self.settings.any_origin:
            return b"*"
        return origin if origin.lower() in self._origins else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = request_method = requested = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                request_method = value
            elif name == b"access-control-request-headers":
                requested = value
        if origin is None:
            await self.app(scope, receive, send)
            return
        allow = self._allowed(origin)
        if scope["method"] == "OPTIONS" and request_method is not None:
            await self._preflight(scope, send, allow, request_method, requested)
            return
        if allow is None:
            await self.app(scope, receive, send)
            return
        added = [
            (b"access-control-allow-origin", allow),
            (b"access-control-expose-headers", _EXPOSED),
            *self._credentials,
        ]
        if allow != b"*":
            added.append((b"vary", b"origin"))

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(
        self, scope: Scope, send: Send, allow: bytes | None, method: bytes, requested: bytes | None
    ) -> None:
        wanted = [h.strip().lower() for h in (requested or b"").decode("latin-1").split(",")]
        wanted = [h for h in wanted if h]
        refused = None
        if allow is None:
            refused = "This origin may not call the proxy (general_settings.cors.allow_origins)."
        elif method.decode("latin-1").upper() not in self._methods:
            refused = "This method is not allowed (general_settings.cors.allow_methods)."
        elif len(wanted) > _MAX_REQUESTED or any(not _TOKEN.fullmatch(h) for h in wanted):
            refused = "Access-Control-Request-Headers must list at most 64 header names."
        elif not self._any_header and any(h not in self._headers for h in wanted):
            refused = "A requested header is not allowed (general_settings.cors.allow_headers)."
        # A preflight has no body; one that announces a body is not read, so the
        # connection ends with the answer (its rest would be parsed as a request).
        close = [(b"connection", b"close")] if _has_body(scope) else []
        if refused is not None:
            error = {"message": refused, "type": "permission_denied", "code": "cors_not_allowed"}
            body = json.dumps({"error": error}, separators=(",", ":")).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            headers += close
            await send({"type": "http.response.start", "status": 403, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        assert allow is not None
        headers = [
            (b"access-control-allow-origin", allow),
            *self._preflight_headers,
            *self._credentials,
            (b"content-length", b"0"),
            *close,
        ]
        if wanted:
            # Only what was asked and is allowed; never the caller's text beyond that.
            headers.append((b"access-control-allow-headers", ", ".join(wanted).encode()))
        if allow != b"*":
            headers.append((b"vary", b"origin"))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _has_body(scope: Scope) -> bool:
    """Whether the request announced a body (as `asgi.has_body`)."""
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip(b" 0")):
            return True
    return False
