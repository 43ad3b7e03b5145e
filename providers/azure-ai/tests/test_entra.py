"""Entra ID tokens: fetched lazily, cached, refreshed before expiry, never shown.

A fake credential stands in for azure-identity's (same `get_token(*scopes)` ->
`AccessToken(token, expires_on)` shape); a fake clock moves time.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, NamedTuple

import pytest

from rerankit import ProviderRequest
from rerankit.errors import ConfigurationError
from rerankit_azure_ai import DEFAULT_SCOPE, AzureAIProvider, EntraIdToken


class AccessToken(NamedTuple):
    """azure.core.credentials.AccessToken's shape."""

    token: str
    expires_on: int


class FakeCredential:
    """Issues token-1, token-2, ... each valid for `lifetime` seconds of the fake clock."""

    def __init__(self, clock: FakeClock, lifetime: int = 3600, delay: float = 0.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.delay = delay
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        if self.delay:
            time.sleep(self.delay)  # widens the race the lock must close
        self.scopes.append(scopes)
        n = len(self.scopes)
        return AccessToken(f"token-{n}", int(self.clock() + self.lifetime))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_first_call_fetches_for_the_scope_and_later_calls_reuse_it(clock):
    credential = FakeCredential(clock)
    token = EntraIdToken(credential, clock=clock)
    assert credential.scopes == []  # nothing happens before the first call
    assert [token(), token(), token()] == ["token-1"] * 3
    assert credential.scopes == [(DEFAULT_SCOPE,)]


def test_refreshed_within_the_margin_before_expiry(clock):
    credential = FakeCredential(clock, lifetime=3600)
    token = EntraIdToken(credential, refresh_margin=300, clock=clock)
    assert token() == "token-1"
    clock.now += 3600 - 301
    assert token() == "token-1"  # still more than 5 minutes left
    clock.now += 2
    assert token() == "token-2"  # inside the margin: a new one
    assert token() == "token-2"
    assert len(credential.scopes) == 2


def test_an_expired_token_is_never_returned(clock):
    credential = FakeCredential(clock, lifetime=60)
    token = EntraIdToken(credential, refresh_margin=0, clock=clock)
    token()
    clock.now += 61
    assert token() == "token-2"


def test_concurrent_first_calls_share_one_fetch(clock):
    credential = FakeCredential(clock, delay=0.05)
    token = EntraIdToken(credential, clock=clock)
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(token())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["token-1"] * 8
    assert len(credential.scopes) == 1


def test_refresh_fetches_now(clock):
    credential = FakeCredential(clock)
    token = EntraIdToken(credential, clock=clock)
    token.refresh()
    assert credential.scopes and token() == "token-1"


def test_custom_scope(clock):
    credential = FakeCredential(clock)
    EntraIdToken(credential, scope="https://ml.azure.com/.default", clock=clock)()
    assert credential.scopes == [("https://ml.azure.com/.default",)]


def test_token_is_not_in_the_repr(clock):
    token = EntraIdToken(FakeCredential(clock), clock=clock)
    token()
    assert "token-1" not in repr(token)
    assert "cached" in repr(token)


def test_credential_failure_is_a_configuration_error_naming_the_scope(clock):
    class Failing:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            raise RuntimeError("DefaultAzureCredential failed to retrieve a token")

    with pytest.raises(ConfigurationError, match="cognitiveservices") as caught:
        EntraIdToken(Failing(), clock=clock)()
    assert "failed to retrieve a token" in str(caught.value)


@pytest.mark.parametrize(
    "access",
    [
        AccessToken("", 1_800_000_000),
        AccessToken("x" * 20_000, 1_800_000_000),
        type("NoExpiry", (), {"token": "t", "expires_on": None})(),
        type("NotAToken", (), {})(),
    ],
)
def test_unusable_tokens_are_refused(clock, access):
    class Odd:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            return access

    with pytest.raises(ConfigurationError):
        EntraIdToken(Odd(), clock=clock)()


def test_without_azure_identity_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "azure.identity", None)  # import fails
    with pytest.raises(ConfigurationError, match=r"rerankit-azure-ai\[entra\]"):
        EntraIdToken()()


@pytest.mark.parametrize("bad", ["", "   "])
def test_empty_scope_is_refused(bad):
    with pytest.raises(ConfigurationError, match="scope"):
        EntraIdToken(scope=bad)


# -- the registered provider, from the environment -----------------------------------------


def request(**kwargs: object) -> ProviderRequest:
    fields: dict = {
        "prefix": "azure_ai",
        "model": "rerank-v3.5",
        "query": "q",
        "documents": ("a",),
        "api_base": "https://d.eastus.models.ai.azure.com",
    }
    fields.update(kwargs)
    return ProviderRequest(**fields)


def test_environment_default_is_keys_only(monkeypatch):
    monkeypatch.delenv("AZURE_AI_AUTH", raising=False)
    assert AzureAIProvider.from_environment().token_provider is None


def test_environment_entra_id_uses_entra_tokens_with_the_scope(monkeypatch):
    monkeypatch.setenv("AZURE_AI_AUTH", "entra_id")
    monkeypatch.setenv("AZURE_AI_ENTRA_SCOPE", "https://ml.azure.com/.default")
    provider = AzureAIProvider.from_environment()
    assert isinstance(provider.token_provider, EntraIdToken)
    assert provider.token_provider.scope == "https://ml.azure.com/.default"


def test_unknown_auth_mode_warns_and_refuses_calls(monkeypatch):
    from rerankit import RerankitWarning

    monkeypatch.setenv("AZURE_AI_AUTH", "managed-identity")
    with pytest.warns(RerankitWarning, match="AZURE_AI_AUTH"):
        provider = AzureAIProvider.from_environment()
    with pytest.raises(ConfigurationError, match="entra_id"):
        provider.build_request(request(api_key="k"))


def test_registered_plugin_uses_entra_from_the_environment_without_importing_azure():
    # The entry point's register hook reads AZURE_AI_AUTH once; azure-identity is imported
    # only when the first token is needed, so registering stays cheap.
    import json
    import os
    import subprocess

    code = (
        "import json, sys; from rerankit.registry import default_registry as d; "
        "p = d().get('azure_ai'); t = p.token_provider; "
        "print(json.dumps([type(t).__name__, t.scope, "
        "sorted(m for m in sys.modules if m.startswith(('azure', 'httpx', 'pydantic')))]))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RERANKIT_", "AZURE_AI_"))}
    env |= {
        "RERANKIT_LOAD_PLUGINS": "azure_ai",
        "AZURE_AI_AUTH": "entra_id",
        "AZURE_AI_ENTRA_SCOPE": "https://ml.azure.com/.default",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert json.loads(out.stdout) == ["EntraIdToken", "https://ml.azure.com/.default", []]
