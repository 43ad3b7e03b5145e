"""The cache key of a call: a sha256 of a versioned, canonical encoding of what was asked.

In the key: the resolved provider prefix and the provider's model name, the base URL
(without credentials, as the call context gives it), the query, the documents' texts in
order, and every provider parameter. Not in it: the API key (never seen), `top_n` and
`return_documents` (applied after the lookup, so one entry serves every variation).
"""

from __future__ import annotations

import hashlib
import json

from rerankit.lifecycle import CallContext

__all__ = ["KEY_VERSION", "KEY_PREFIX", "canonical_request", "cache_key"]

#: Bumped whenever the encoding below changes, so old entries are simply never found.
KEY_VERSION = 1
#: Every key starts with this (after the namespace, if one is set).
KEY_PREFIX = f"rerankit:cache:v{KEY_VERSION}:"


def canonical_request(call: CallContext) -> bytes:
    """The bytes the key hashes: one JSON array, keys sorted, no spaces, UTF-8.

    Raises `TypeError` or `ValueError` for a parameter JSON cannot encode exactly (such
    a call is not cached).
    """
    payload = [
        KEY_VERSION,
        call.prefix,
        call.provider_model,
        call.api_base,
        call.query,
        list(call.documents),
        dict(call.params),
    ]
    text = json.dumps(
        payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    )
    # surrogatepass: a lone surrogate in a document still hashes (to its own key).
    return text.encode("utf-8", "surrogatepass")


def cache_key(call: CallContext, namespace: str = "") -> str:
    """`{namespace}rerankit:cache:v1:{sha256 hex}` for `call`."""
    digest = hashlib.sha256(canonical_request(call)).hexdigest()
    return f"{namespace}{KEY_PREFIX}{digest}"
