"""The contract suite fails for providers with the bugs it exists to catch.

Each broken provider differs from a correct one in one way; the contract test aimed at
that bug must fail for it and pass for the correct provider. The test methods are called
directly, as pytest would call them on a fresh instance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from rerankit import HttpProvider, HttpRequest, HttpResponse, ProviderRequest, Ranking
from rerankit.errors import InvalidRequestError, InvalidResponseError
from rerankit.testing import ProviderContract

# pytest's "skipped" and "failed" outcomes (BaseExceptions, not Exceptions).
Skipped = pytest.skip.Exception
Failed = pytest.fail.Exception


class GoodProvider(HttpProvider):
    """A correct Cohere-style provider."""

    name: ClassVar[str] = "Good"
    api_key_env: ClassVar[str | None] = "GOOD_API_KEY"
    api_base_env: ClassVar[tuple[str, ...]] = ("GOOD_API_BASE",)
    max_documents_per_request: ClassVar[int | None] = 8

    def url(self, request: ProviderRequest) -> str:
        return f"{(request.api_base or 'https://good.test').rstrip('/')}/v1/rerank"

    def headers(self, request: ProviderRequest) -> dict[str, str]:
        return {"Authorization": f"Bearer {request.api_key}"} if request.api_key else {}

    def build_request(self, request: ProviderRequest) -> HttpRequest:
        body = {
            "model": request.model,
            "query": request.query,
            "documents": list(request.documents),
        }
        return HttpRequest("POST", self.url(request), self.headers(request), body)

    def items(self, body: Any) -> list[tuple[Any, Any]]:
        return [(item["index"], item["relevance_score"]) for item in body["results"]]

    def parse_response(self, response: HttpResponse, request: ProviderRequest) -> Ranking:
        try:
            return Ranking(self.items(response.json()))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidResponseError(f"not a ranking: {exc!r}", provider=self.name) from None


class CrashesOnOddShapes(GoodProvider):
    def parse_response(self, response: HttpResponse, request: ProviderRequest) -> Ranking:
        return Ranking(self.items(response.json()))


class ConvertsScoresUnchecked(CrashesOnOddShapes):
    def items(self, body: Any) -> list[tuple[Any, Any]]:
        return [(item["index"], float(item["relevance_score"])) for item in body["results"]]


class IgnoresIndex(GoodProvider):
    def items(self, body: Any) -> list[tuple[Any, Any]]:
        return [(i, item["relevance_score"]) for i, item in enumerate(body["results"])]


class SendsBearerNone(GoodProvider):
    def headers(self, request: ProviderRequest) -> dict[str, str]:
        return {"Authorization": f"Bearer {request.api_key}"}


class IgnoresBase(GoodProvider):
    def url(self, request: ProviderRequest) -> str:
        return "https://good.test/v1/rerank"


class DoublesSlash(GoodProvider):
    def url(self, request: ProviderRequest) -> str:
        return f"{request.api_base or 'https://good.test'}/v1/rerank"


class KeyInCustomHeader(GoodProvider):
    def headers(self, request: ProviderRequest) -> dict[str, str]:
        return {"X-Good-Token": request.api_key or ""}


class KeyInUrl(GoodProvider):
    def url(self, request: ProviderRequest) -> str:
        return super().url(request) + f"?key={request.api_key}"


class LeaksKeyInError(GoodProvider):
    def parse_response(self, response: HttpResponse, request: ProviderRequest) -> Ranking:
        try:
            return super().parse_response(response, request)
        except InvalidResponseError:
            raise InvalidResponseError(f"bad answer to key {request.api_key}") from None


class DropsDocuments(GoodProvider):
    def build_request(self, request: ProviderRequest) -> HttpRequest:
        built = super().build_request(request)
        return HttpRequest(
            built.method,
            built.url,
            built.headers,
            {**built.json, "documents": list(request.documents[:-1])},
        )


class BadLimit(GoodProvider):
    max_documents_per_request: ClassVar[int | None] = 0


class PrefixedModels(GoodProvider):
    known_models: ClassVar[tuple[str, ...]] = ("good/model-1",)


def contract(provider: HttpProvider) -> ProviderContract:
    class Contract(ProviderContract):
        prefix = "good"

        def answer(self, scores: Sequence[tuple[int, float]], request: HttpRequest) -> Any:
            return {"results": [{"index": i, "relevance_score": s} for i, s in scores]}

    Contract.provider = provider
    return Contract()


def run(provider: HttpProvider, test: str, *args: Any) -> None:
    getattr(contract(provider), test)(*args)


CASES: list[tuple[type[GoodProvider], str, tuple[Any, ...]]] = [
    (CrashesOnOddShapes, "test_garbage_answer_is_invalid_response_error", ("html",)),
    (CrashesOnOddShapes, "test_garbage_answer_is_invalid_response_error", ("json_null",)),
    (ConvertsScoresUnchecked, "test_bad_ranking_is_invalid_response_error", ("score_null",)),
    (ConvertsScoresUnchecked, "test_bad_ranking_is_invalid_response_error", ("score_text",)),
    (IgnoresIndex, "test_parses_its_answer", ()),
    (SendsBearerNone, "test_without_key_fails_clearly_or_sends_none", ()),
    (IgnoresBase, "test_request_is_a_json_post_under_the_base", ()),
    (IgnoresBase, "test_key_and_base_come_from_the_environment", ()),
    (DoublesSlash, "test_trailing_slash_in_base_changes_nothing", ()),
    (KeyInCustomHeader, "test_key_is_in_no_repr", ()),
    (KeyInUrl, "test_key_is_sent_in_a_header", ()),
    (DropsDocuments, "test_request_carries_query_and_documents_in_order", ()),
    (BadLimit, "test_max_documents_per_request_is_sane", ()),
    (PrefixedModels, "test_description_is_sane", ()),
]


@pytest.mark.parametrize(
    ("broken", "test", "args"), CASES, ids=[f"{c[0].__name__}-{c[1]}" for c in CASES]
)
def test_contract_fails_the_broken_provider_and_passes_the_good_one(
    broken: type[GoodProvider], test: str, args: tuple[Any, ...]
) -> None:
    run(GoodProvider(), test, *args)
    # An exception or pytest.fail fails a pytest test; a skip would not.
    try:
        run(broken(), test, *args)
    except (Exception, Failed):
        return
    pytest.fail(f"{test} passed for {broken.__name__}")


def test_key_leaking_into_an_error_is_caught(caplog: pytest.LogCaptureFixture) -> None:
    run(GoodProvider(), "test_key_is_in_no_error_or_log", "invalid_answer", caplog)
    with pytest.raises(AssertionError, match="The key leaks"):
        run(LeaksKeyInError(), "test_key_is_in_no_error_or_log", "invalid_answer", caplog)


def test_key_in_url_leaks_into_the_http_log(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(AssertionError, match="The key leaks"):
        run(KeyInUrl(), "test_key_is_in_no_error_or_log", "500", caplog)


def test_split_test_runs_where_the_core_splits_and_skips_with_a_reason_elsewhere() -> None:
    instance = contract(GoodProvider())
    skipped: BaseException | None = None
    try:
        instance.test_call_above_the_limit_is_split()
    except Skipped as skip:
        skipped = skip
    if skipped is None:
        assert len(instance.upstream.requests) >= 2
        return
    assert "does not split" in str(skipped)
    # ... and the core really refuses a call above the limit.
    with pytest.raises(InvalidRequestError, match="limit of 8"):
        contract(GoodProvider()).rerank([f"document {i}" for i in range(9)])


def test_local_provider_skips_http_tests() -> None:
    from rerankit import LocalProvider

    class Lengths(LocalProvider):
        name: ClassVar[str] = "lengths"

        def rerank(self, request: ProviderRequest) -> Ranking:
            return Ranking([(i, float(len(d))) for i, d in enumerate(request.documents)])

    class Contract(ProviderContract):
        provider = Lengths()
        prefix = "lengths"

    instance = Contract()
    with pytest.raises(Skipped, match="HTTP-only"):
        instance.test_request_is_a_json_post_under_the_base()
    instance.test_top_n_keeps_the_best()
    instance.test_return_documents_false_omits_documents()
    instance.test_async_client_gives_the_same_answer()


def test_unconfigured_contract_says_what_to_set() -> None:
    class Contract(ProviderContract):
        provider = GoodProvider()
        prefix = "good"

    with pytest.raises(AssertionError, match=r"answer\(scores, request\)"):
        Contract().test_contract_is_configured()


def test_upstream_records_requests_and_serves_answers_in_order() -> None:
    import httpx

    from rerankit.testing import CannedResponse, FakeUpstream

    upstream = FakeUpstream(CannedResponse.from_text("default", status=503))
    upstream.serve(CannedResponse.from_json({"n": 1}, headers={"x-a": "b"}))
    with httpx.Client(transport=upstream.transport) as client:
        first = client.post("https://u.test/a", json={"q": 1}, headers={"Authorization": "k"})
        second = client.get("https://u.test/b")
    assert (first.status_code, first.json(), first.headers["x-a"]) == (200, {"n": 1}, "b")
    assert (second.status_code, second.text) == (503, "default")
    assert [(r.method, r.url, r.json) for r in upstream.requests] == [
        ("POST", "https://u.test/a", {"q": 1}),
        ("GET", "https://u.test/b", None),
    ]
    assert upstream.requests[0].headers["authorization"] == "k"


def test_upstream_without_an_answer_fails_loudly() -> None:
    import httpx

    from rerankit.testing import FakeUpstream

    with (
        httpx.Client(transport=FakeUpstream().transport) as client,
        pytest.raises(AssertionError, match="no answer"),
    ):
        client.get("https://u.test/")


def test_pytest_plugin_is_registered(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("rerankit")


def test_rerankit_upstream_fixture(rerankit_upstream: Any) -> None:
    from rerankit.testing import FakeUpstream

    assert isinstance(rerankit_upstream, FakeUpstream)
    assert rerankit_upstream.requests == []


def test_plugin_load_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, rerankit.testing.plugin; "
        "print(sorted(m for m in ('httpx', 'pydantic', 'rerankit.testing.contract', "
        "'rerankit.testing._suite.base', 'rerankit._client') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
