"""Google Application Default Credentials and their OAuth token, cached and refreshed.

`google.auth.default()` finds the credentials the way every Google client library does:
`GOOGLE_APPLICATION_CREDENTIALS` (a service-account, user or workload-identity file), the
file `gcloud auth application-default login` writes, then the metadata server on Google
Cloud. It is called on first use only (google-auth is imported then, not at provider
resolution). The access token is kept and refreshed when google-auth considers it stale,
a few minutes before it expires, under a lock so that concurrent calls refresh once.

The token exchange is the provider's one piece of I/O, through `transport.HttpxTransport`.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from rerankit.errors import ConfigurationError

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

__all__ = ["CLOUD_PLATFORM_SCOPE", "GoogleCredentials"]

#: The OAuth scope the ranking API requires.
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"


class GoogleCredentials:
    """ADC (or the credentials given), their project, and a fresh access token on demand."""

    def __init__(self, credentials: Credentials | None = None) -> None:
        self._credentials = credentials
        self._project: str | None = None
        self._loaded = credentials is not None
        self._lock = threading.Lock()

    def project(self) -> str | None:
        """The project ADC names (a service account's, `GOOGLE_CLOUD_PROJECT`, gcloud's)."""
        with self._lock:
            self._load()
            return self._project

    def authorize(self, headers: dict[str, str]) -> None:
        """Add `authorization` (and `x-goog-user-project`, if set) with a valid token.

        Raises `ConfigurationError` without credentials; google-auth's `RefreshError` and
        `TransportError` when the token exchange fails (the provider maps them).
        """
        with self._lock:
            credentials = self._load()
            if not credentials.valid:  # no token yet, or within minutes of its expiry
                from .transport import HttpxTransport

                credentials.refresh(HttpxTransport())  # type: ignore[no-untyped-call]
            credentials.apply(headers)  # type: ignore[no-untyped-call]

    def _load(self) -> Credentials:
        if not self._loaded:
            import google.auth
            from google.auth import exceptions

            from .transport import HttpxTransport

            try:
                found, project = google.auth.default(
                    scopes=[CLOUD_PLATFORM_SCOPE], request=HttpxTransport()
                )
            except exceptions.DefaultCredentialsError as exc:
                raise ConfigurationError(
                    "No Google credentials found: set GOOGLE_APPLICATION_CREDENTIALS to a "
                    "service-account or ADC file, run 'gcloud auth application-default "
                    "login', run on Google Cloud, or pass api_key= with an OAuth access "
                    f"token. ({exc})"
                ) from None
            self._credentials, self._project, self._loaded = found, project, True
        assert self._credentials is not None
        return self._credentials
