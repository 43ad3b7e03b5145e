"""The proxy's upstream HTTP client: core's default one, with no cookies kept.

The proxy sends every upstream call through `rerankit.AsyncClient` (so every provider
works behind it). Its HTTP client is the one `rerankit.AsyncClient` picks itself
(`rerankit._transport.default_async_client`): on aiohttp when it is installed (the
`proxy` extra brings it), which costs less CPU per proxied call than the keep-alive
transport the proxy used to carry, and httpx's own transport otherwise (or when the
tests pass an in-process one). An HTTP proxy in the environment (`HTTPS_PROXY`, ...) is
honoured on both.

The one upstream client serves every caller, so it keeps no cookies: aiohttp's session
has a dummy cookie jar (set in core), and the httpx side gets `NoCookies` here.
"""

from __future__ import annotations

import httpx

from rerankit._transport import default_async_client

__all__ = ["NoCookies", "upstream_http_client"]


class NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing.

    A cookie an upstream sets for one call must not ride along on the next caller's call.
    Keeping none also saves httpx's per-response cookie parsing.
    """

    def extract_cookies(self, response: httpx.Response) -> None:
        """Ignore the response's cookies."""

    def set_cookie_header(self, request: httpx.Request) -> None:
        """Send no cookies."""


def upstream_http_client(
    transport: httpx.AsyncBaseTransport | None, *, timeout: float
) -> httpx.AsyncClient:
    """The pooled client behind the proxy's `rerankit.AsyncClient`, without cookies."""
    client = default_async_client(transport, timeout)
    # httpx has no switch for its cookie jar; its setter would copy into a plain one.
    client._cookies = NoCookies()
    return client
