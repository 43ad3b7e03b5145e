"""An independent SigV4 verifier: what AWS does with a request it receives.

It recomputes the signature from the request as it arrived (method, raw target, the
headers named in `SignedHeaders`, the body bytes) and a secret looked up by access key,
then compares. It imports nothing from rerankit_bedrock, and it is itself checked against
botocore's signer in test_sigv4.py, so a bug in the provider's signer cannot hide in it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, unquote

__all__ = ["SignatureRejected", "Signed", "verify"]

_AUTH = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<names>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
#: AWS refuses requests signed more than 5 minutes from its own clock.
MAX_SKEW = timedelta(minutes=5)


class SignatureRejected(Exception):
    """The request would get 403 from AWS; the message says why."""


class Signed:
    """Who signed a verified request, and for which scope."""

    def __init__(self, access_key: str, region: str, service: str, names: list[str]) -> None:
        self.access_key, self.region, self.service, self.names = access_key, region, service, names


def verify(
    method: str,
    target: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    secrets: Mapping[str, str],
    now: datetime,
    session_tokens: Mapping[str, str] | None = None,
) -> Signed:
    """Check one received request; `headers` has lower-cased names. Raises `SignatureRejected`."""
    found = _AUTH.fullmatch(headers.get("authorization", ""))
    if found is None:
        raise SignatureRejected("missing or malformed Authorization header")
    key, names = found["key"], found["names"].split(";")
    if key not in secrets:
        raise SignatureRejected(f"unknown access key {key}")
    if "host" not in names or "x-amz-date" not in names:
        raise SignatureRejected("host and x-amz-date must be signed")
    stamp = headers.get("x-amz-date", "")
    try:
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise SignatureRejected(f"bad X-Amz-Date {stamp!r}") from None
    if abs(when - now) > MAX_SKEW:
        raise SignatureRejected("signature expired (clock skew above 5 minutes)")
    if found["date"] != stamp[:8]:
        raise SignatureRejected("credential scope date differs from X-Amz-Date")
    expected_token = (session_tokens or {}).get(key)
    if expected_token is not None and headers.get("x-amz-security-token") != expected_token:
        raise SignatureRejected("the security token included in the request is invalid")
    missing = [name for name in names if name not in headers]
    if missing:
        raise SignatureRejected(f"signed headers not sent: {missing}")

    path, _, query = target.partition("?")
    # Every service but S3: each segment of the path as received is URI-encoded once more.
    uri = "/".join(quote(segment, safe="") for segment in path.split("/")) or "/"
    pairs = sorted(
        (quote(unquote(k), safe=""), quote(unquote(v), safe=""))
        for k, _, v in (item.partition("=") for item in query.split("&") if item)
    )
    lines = [
        method,
        uri,
        "&".join(f"{k}={v}" for k, v in pairs),
        *(f"{name}:{re.sub(r' +', ' ', headers[name].strip())}" for name in names),
        "",
        ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ]
    canonical = "\n".join(lines)
    scope = f"{found['date']}/{found['region']}/{found['service']}/aws4_request"
    to_sign = (
        f"AWS4-HMAC-SHA256\n{stamp}\n{scope}\n" + hashlib.sha256(canonical.encode()).hexdigest()
    )
    signing_key = ("AWS4" + secrets[key]).encode()
    for step in (found["date"], found["region"], found["service"], "aws4_request"):
        signing_key = hmac.digest(signing_key, step.encode(), "sha256")
    wanted = hmac.new(signing_key, to_sign.encode(), "sha256").hexdigest()
    if not hmac.compare_digest(wanted, found["signature"]):
        raise SignatureRejected(
            "The request signature we calculated does not match the signature you provided."
        )
    return Signed(key, found["region"], found["service"], names)
