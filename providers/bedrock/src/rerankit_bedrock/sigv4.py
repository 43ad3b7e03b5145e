"""AWS Signature Version 4 for one JSON POST: the headers that authenticate it.

Written out (about forty lines of hashing) rather than borrowed from botocore's
`SigV4Auth`, for two reasons: botocore logs the canonical request at DEBUG level, session
token included, and its clock cannot be injected, which tests need. The tests check this
signer against an independent verifier and against botocore's own signer.

Scheme (docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request):

- canonical request: method, the URI path encoded once more (every service but S3),
  the sorted query, the signed headers (`name:value` lower-cased and trimmed), their
  names, the hex SHA-256 of the payload;
- string to sign: `AWS4-HMAC-SHA256`, the timestamp, the scope
  `date/region/service/aws4_request`, the hex SHA-256 of the canonical request;
- key: HMAC chain `AWS4<secret>` -> date -> region -> service -> `aws4_request`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, urlsplit

__all__ = ["AwsCredentials", "sign"]

ALGORITHM = "AWS4-HMAC-SHA256"
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    """An access key pair and, for temporary credentials, the session token.

    The secret and the token are left out of the repr.
    """

    access_key: str
    secret_key: str = field(repr=False)
    token: str | None = field(default=None, repr=False)


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    credentials: AwsCredentials,
    region: str,
    service: str,
    now: datetime,
) -> dict[str, str]:
    """`headers` plus `Host`, `X-Amz-Date`, `X-Amz-Security-Token`? and `Authorization`.

    Every header given is signed, so the client must send them unchanged; `Host` is set
    explicitly so that the signed host is the one sent.
    """
    parts = urlsplit(url)
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    signed = {**headers, "Host": _host(parts.scheme, parts.hostname or "", parts.port)}
    signed["X-Amz-Date"] = stamp
    if credentials.token:
        signed["X-Amz-Security-Token"] = credentials.token
    canonical = {name.lower(): " ".join(value.split()) for name, value in signed.items()}
    names = ";".join(sorted(canonical))
    canonical_request = "\n".join(
        [
            method.upper(),
            quote(parts.path or "/", safe="/~"),
            _canonical_query(parts.query),
            "".join(f"{name}:{canonical[name]}\n" for name in sorted(canonical)),
            names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, stamp, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = f"AWS4{credentials.secret_key}".encode()
    for part in (stamp[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    signed["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={names}, Signature={signature}"
    )
    return signed


def _host(scheme: str, hostname: str, port: int | None) -> str:
    """The Host header an HTTP client sends: the port only when it is not the default."""
    if ":" in hostname:  # an IPv6 literal keeps its brackets in the header
        hostname = f"[{hostname}]"
    if port is None or port == _DEFAULT_PORTS.get(scheme):
        return hostname
    return f"{hostname}:{port}"


def _canonical_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    encoded = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)
