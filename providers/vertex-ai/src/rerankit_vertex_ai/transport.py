"""google-auth's HTTP seam over httpx: how token exchanges and the metadata server are reached.

google-auth asks for a `google.auth.transport.Request`; this one uses httpx (already a
rerankit dependency) instead of pulling in `requests`. Imported only when credentials are
first needed: google-auth's transport module loads `http.client` and `ssl`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from google.auth import exceptions, transport

__all__ = ["HttpxTransport", "TOKEN_TIMEOUT"]

#: Seconds a token exchange (or a metadata-server request) may take at most.
TOKEN_TIMEOUT = 30.0


class HttpxTransport(transport.Request):
    """One HTTP exchange for google-auth, with its errors as google-auth's `TransportError`."""

    def __init__(self, timeout: float = TOKEN_TIMEOUT) -> None:
        self._timeout = timeout

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> transport.Response:
        try:
            answer = httpx.request(
                method,
                url,
                content=body,
                headers=dict(headers or {}),
                timeout=min(timeout or self._timeout, self._timeout),
            )
        except httpx.HTTPError as exc:
            message = f"{type(exc).__name__}: {exc}"
            raise exceptions.TransportError(message) from exc  # type: ignore[no-untyped-call]
        return _Response(answer.status_code, dict(answer.headers), answer.content)


class _Response(transport.Response):
    """google-auth's view of an answer: status, headers and data."""

    def __init__(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self._status, self._headers, self._data = status, headers, data

    @property
    def status(self) -> int:
        return self._status

    @property
    def headers(self) -> dict[str, str]:
        return self._headers

    @property
    def data(self) -> bytes:
        return self._data
