"""Microsoft Entra ID bearer tokens for Azure AI deployments, cached and refreshed.

`EntraIdToken` is a callable returning a bearer token: it asks an azure-identity
credential (any object with `get_token(*scopes) -> AccessToken`, e.g.
`DefaultAzureCredential`) once, keeps the token, and asks again only when it is within
`refresh_margin` seconds of expiry. azure-identity is an optional extra
(`pip install 'rerankit-azure-ai[entra]'`) imported only when no credential is given and
the first token is needed.

Getting a token is I/O (the credential talks to Entra ID or a managed-identity endpoint).
It happens on the first call and then about once per token lifetime (an hour by
default), under a lock so concurrent calls share one refresh; every other call only reads
the cached string. From async code that refresh blocks the event loop for its duration:
call `refresh()` at start-up to take the first one out of the request path.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from rerankit.errors import ConfigurationError

__all__ = ["DEFAULT_SCOPE", "EntraIdToken", "TokenCredential"]

#: The scope Azure AI Foundry (Azure AI services) resources accept Entra ID tokens for.
DEFAULT_SCOPE = "https://cognitiveservices.azure.com/.default"
#: An upstream token longer than this is refused rather than sent in a header.
_MAX_TOKEN_CHARS = 16_384


class TokenCredential(Protocol):
    """What `EntraIdToken` needs from a credential (azure-core's `TokenCredential`)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        """An `AccessToken`-like object with `token` (str) and `expires_on` (epoch s)."""
        ...


class EntraIdToken:
    """A cached Entra ID bearer token for `scope`, refreshed before it expires.

    `credential` defaults to azure-identity's `DefaultAzureCredential()`, created on first
    use. `clock` (epoch seconds) is injectable for tests. The token never appears in the
    repr.
    """

    def __init__(
        self,
        credential: TokenCredential | None = None,
        *,
        scope: str = DEFAULT_SCOPE,
        refresh_margin: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(scope, str) or not scope.strip():
            raise ConfigurationError(f"Entra ID scope must be a non-empty string, got {scope!r}.")
        if refresh_margin < 0:
            raise ConfigurationError(f"refresh_margin must be >= 0, got {refresh_margin!r}.")
        self.scope = scope
        self.refresh_margin = refresh_margin
        self._credential = credential
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_on = 0.0

    def __call__(self) -> str:
        """The current token, fetched first or again when it is about to expire."""
        now = self._clock()
        token = self._token
        if token is not None and now < self._expires_on - self.refresh_margin:
            return token
        with self._lock:
            # Another thread may have refreshed while this one waited for the lock.
            if self._token is None or self._clock() >= self._expires_on - self.refresh_margin:
                self._fetch()
            assert self._token is not None
            return self._token

    def refresh(self) -> None:
        """Fetch a new token now (e.g. at start-up, outside the request path)."""
        with self._lock:
            self._fetch()

    def _fetch(self) -> None:
        credential = self._credential or self._default_credential()
        try:
            access = credential.get_token(self.scope)
        except Exception as exc:  # the credential's own error types vary by credential
            raise ConfigurationError(
                f"Could not get a Microsoft Entra ID token for scope {self.scope!r}: "
                f"{type(exc).__name__}: {str(exc)[:500]}"
            ) from exc
        token = getattr(access, "token", None)
        expires_on = getattr(access, "expires_on", None)
        if not isinstance(token, str) or not token or len(token) > _MAX_TOKEN_CHARS:
            raise ConfigurationError(
                "The Entra ID credential returned no usable token (expected a non-empty "
                f"string of at most {_MAX_TOKEN_CHARS} characters)."
            )
        if isinstance(expires_on, bool) or not isinstance(expires_on, int | float):
            raise ConfigurationError(
                "The Entra ID credential returned a token without a numeric expires_on."
            )
        self._token, self._expires_on = token, float(expires_on)

    def _default_credential(self) -> TokenCredential:
        try:
            from azure.identity import (  # type: ignore[import-not-found, unused-ignore]
                DefaultAzureCredential,
            )
        except ImportError:
            raise ConfigurationError(
                "Entra ID authentication needs azure-identity: "
                "pip install 'rerankit-azure-ai[entra]' (or pass credential=)."
            ) from None
        self._credential = DefaultAzureCredential()
        return self._credential

    def __repr__(self) -> str:
        state = "cached" if self._token is not None else "empty"
        return f"EntraIdToken(scope={self.scope!r}, {state})"
