"""Bearer-key authentication: who is calling, and which models they may call.

Keys are looked up by their SHA-256 digest and then compared with `hmac.compare_digest`,
so the time taken says nothing about how much of a guessed key was right. Keys are never
logged: a caller is known by its key's name. With `ProxyConfig.open_access` (no key
configured, see `server.serve`) every caller is `ANONYMOUS`, whatever it sends.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from .config import ProxyConfig

__all__ = ["Caller", "KeyStore", "MASTER", "ANONYMOUS"]

MASTER = "master"
#: The caller's name in logs when the proxy runs without authentication.
ANONYMOUS = "anonymous"


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated caller."""

    name: str
    #: Model names this caller may call; None: every model.
    models: frozenset[str] | None
    rpm: int | None
    is_master: bool
    #: The key's digest, to key per-caller state without holding the key.
    digest: bytes
    #: Tokens per minute, as providers report them (`tokens.py`); None: unlimited.
    tpm: int | None = None

    def may_call(self, model_name: str) -> bool:
        """Whether this caller may call the served model name `model_name`."""
        return self.models is None or model_name in self.models


class KeyStore:
    """The master key and the virtual keys of a configuration."""

    def __init__(self, config: ProxyConfig) -> None:
        self._callers: dict[bytes, tuple[bytes, Caller]] = {}
        self._open = (
            Caller(ANONYMOUS, None, None, True, hashlib.sha256(b"").digest())
            if config.open_access
            else None
        )
        self._add(config.master_key, MASTER, None, None, is_master=True)
        for key in config.keys:
            self._add(key.key, key.name, key.models, key.rpm, is_master=False, tpm=key.tpm)

    def _add(
        self,
        key: str,
        name: str,
        models: frozenset[str] | None,
        rpm: int | None,
        *,
        is_master: bool,
        tpm: int | None = None,
    ) -> None:
        raw = key.encode()
        digest = hashlib.sha256(raw).digest()
        self._callers[digest] = (raw, Caller(name, models, rpm, is_master, digest, tpm))

    def authenticate(self, authorization: bytes | None) -> Caller | None:
        """The caller for an `Authorization: Bearer <key>` header value, or None."""
        if self._open is not None:  # no authentication: the header means nothing
            return self._open
        if not authorization:
            return None
        scheme, _, token = authorization.partition(b" ")
        token = token.strip()
        if scheme.lower() != b"bearer" or not token:
            return None
        found = self._callers.get(hashlib.sha256(token).digest())
        if found is None:
            return None
        raw, caller = found
        return caller if hmac.compare_digest(raw, token) else None
