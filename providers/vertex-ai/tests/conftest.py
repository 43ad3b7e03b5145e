"""A sealed Google environment and a fake Google (OAuth token endpoint + ranking API) on loopback.

Every test starts without the developer's Google settings (no ADC file, no gcloud config,
no project variables). `FakeGoogle` answers, on one 127.0.0.1 server:

- `POST /token`: OAuth 2.0 token endpoint. A JWT-bearer grant must carry an RS256
  assertion that verifies with the test service account's public key, with the right
  issuer, audience, scope and expiry; it gets a fresh `ya29.fake-<n>` token valid for
  `expires_in` seconds. Anything else is `400 invalid_grant`, as Google answers.
- `POST /v1/projects/{p}/locations/{l}/rankingConfigs/default_ranking_config:rank`: the
  ranking API. It requires a bearer token it issued (else `401 UNAUTHENTICATED`) and
  answers `{"records": [{"id", "score"}]}` best first, cut to `topN`.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen, ranked

SERVICE_ACCOUNT = "ranker@fake-project.iam.gserviceaccount.com"
SCOPE = "https://www.googleapis.com/auth/cloud-platform"
_RANK = re.compile(
    r"/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/rankingConfigs/"
    r"default_ranking_config:rank"
)


@pytest.fixture(autouse=True)
def _sealed_google(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory):
    for name in list(os.environ):
        if name.startswith(("GOOGLE_", "GCLOUD_", "CLOUDSDK_", "VERTEXAI_", "GCE_")):
            monkeypatch.delenv(name)
    # gcloud's config (and its ADC file) would be read from here.
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path_factory.mktemp("gcloud")))


def google_error(status: int, code: str, message: str) -> Reply:
    """An error the way Google APIs send it."""
    return Reply(status, {"error": {"code": status, "message": message, "status": code}})


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class FakeGoogle:
    """The handler of the fake server, and what it issued and saw."""

    #: For tests, which cannot import this conftest: Google's error shape.
    error = staticmethod(google_error)

    def __init__(self) -> None:
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.expires_in = 3600
        self.issued: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self.token_requests: list[dict[str, list[str]]] = []
        self.rank_requests: list[Seen] = []
        self.answer: Callable[[Seen], Reply] | None = None
        self._numbers = itertools.count(1)
        self.url = ""

    def reset(self) -> None:
        self.expires_in = 3600
        self.issued.clear()
        self.token_requests.clear()
        self.rank_requests.clear()
        self.answer = None

    # -- credential files ------------------------------------------------------------------

    def service_account_file(self, directory: Path, **extra: Any) -> Path:
        pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        info = {
            "type": "service_account",
            "project_id": "sa-project",
            "private_key_id": "fake-key-id-1",
            "private_key": pem,
            "client_email": SERVICE_ACCOUNT,
            "client_id": "1234567890",
            "token_uri": f"{self.url}/token",
            **extra,
        }
        path = directory / "adc-service-account.json"
        path.write_text(json.dumps(info))
        return path

    # -- the server ------------------------------------------------------------------------

    def handle(self, seen: Seen) -> Reply:
        if seen.path == "/token":
            return self._token(parse_qs(seen.body.decode()))
        if _RANK.fullmatch(seen.path):
            return self._rank(seen)
        return google_error(404, "NOT_FOUND", f"no route {seen.path}")

    def _token(self, form: dict[str, list[str]]) -> Reply:
        self.token_requests.append(form)
        grant = form.get("grant_type", [""])[0]
        assertion = form.get("assertion", [""])[0]
        ok = grant == "urn:ietf:params:oauth:grant-type:jwt-bearer" and self._valid(assertion)
        if not ok:
            return Reply(400, {"error": "invalid_grant", "error_description": "Bad Request"})
        token = f"ya29.fake-{next(self._numbers)}"
        self.issued[token] = time.time() + self.expires_in
        return Reply(
            200, {"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
        )

    def _valid(self, assertion: str) -> bool:
        """An RS256 JWT signed by the service account's key, for this endpoint and scope."""
        try:
            header, payload, signature = assertion.split(".")
            self.private_key.public_key().verify(
                _b64decode(signature),
                f"{header}.{payload}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
            claims = json.loads(_b64decode(payload))
        except Exception:
            return False
        return (
            json.loads(_b64decode(header)).get("alg") == "RS256"
            and claims.get("iss") == SERVICE_ACCOUNT
            # google-auth addresses the assertion to Google's token endpoint, as Google
            # requires, wherever token_uri sends it.
            and claims.get("aud") == "https://oauth2.googleapis.com/token"
            and SCOPE in claims.get("scope", "").split()
            and claims.get("exp", 0) > time.time()
        )

    def _rank(self, seen: Seen) -> Reply:
        self.rank_requests.append(seen)
        token = seen.headers.get("authorization", "").removeprefix("Bearer ")
        if self.issued.get(token, 0) <= time.time():
            return google_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials. Expected OAuth 2 access token.",
            )
        if self.answer is not None:
            return self.answer(seen)
        body = seen.json
        texts = [record["content"] for record in body["records"]]
        ids = [record["id"] for record in body["records"]]
        pairs = ranked(body["query"], texts, body.get("topN"))
        return Reply(200, {"records": [{"id": ids[i], "score": s} for i, s in pairs]})


@pytest.fixture(scope="session")
def google_server() -> Iterator[tuple[FakeRerankServer, FakeGoogle]]:
    fake = FakeGoogle()
    with FakeRerankServer(fake.handle) as server:
        fake.url = server.url
        yield server, fake


@pytest.fixture
def google(google_server: tuple[FakeRerankServer, FakeGoogle]) -> FakeGoogle:
    """The fake Google, forgetting what earlier tests did."""
    server, fake = google_server
    server.clear()
    fake.reset()
    return fake
