"""The declarative Cohere-style provider: URL joining, keys, body mapping, robust parsing."""

from __future__ import annotations

import json
from typing import ClassVar

import httpx
import pytest

import rerankit
from rerankit import HttpResponse, Param, ProviderRequest
from rerankit.declarative import CohereStyleProvider, RerankWire, join_endpoint
from rerankit.errors import (
    BadRequestError,
    ConfigurationError,
    InvalidParameterError,
    InvalidResponseError,
    MissingApiKeyError,
    ServerError,
)
from rerankit.registry import ProviderRegistry


class Hosted(CohereStyleProvider):
    wire: ClassVar[RerankWire] = RerankWire(
        name="Hosted",
        default_base="https://api.hosted.test",
        path="/v1/rerank",
        api_key_env="HOSTED_API_KEY",
        api_base_env=("HOSTED_API_BASE",),
        key_required=True,
        params={
            "truncate": Param(str, choices=("END", "NONE")),
            "raw_scores": Param(bool),
        },
        param_fields={"truncate": "parameters.truncate"},
        raw_scores_param="raw_scores",
        score_kind="probability",
        max_documents_per_request=10,
    )


class SelfHosted(CohereStyleProvider):
    wire: ClassVar[RerankWire] = RerankWire(
        name="SelfHosted",
        path="/rerank",
        api_base_env=("SELF_API_BASE",),
        model_field=None,
        documents_field="texts",
        documents_as_objects=True,
        top_n_field=None,
        return_documents_field=None,
        results_keys=(),
        score_key="score",
    )


HOSTED = Hosted()


def req(**kwargs: object) -> ProviderRequest:
    fields: dict = {
        "prefix": "hosted",
        "model": "m-1",
        "query": "q",
        "documents": ("a", "b", "c"),
        "api_key": "sk-secret",
    }
    fields.update(kwargs)
    return ProviderRequest(**fields)


def answer(body: object, status: int = 200) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status, {"content-type": "application/json"}, raw)


# -- attributes come from the wire ---------------------------------------------------------


def test_class_attributes_come_from_the_wire():
    assert Hosted.name == "Hosted"
    assert Hosted.api_key_env == "HOSTED_API_KEY"
    assert Hosted.api_base_env == ("HOSTED_API_BASE",)
    assert Hosted.score_kind == "probability"
    assert Hosted.max_documents_per_request == 10
    assert set(Hosted.params) == {"truncate", "raw_scores"}


def test_inconsistent_wire_is_rejected_at_definition():
    with pytest.raises(ValueError, match="undeclared"):
        RerankWire(name="x", path="/r", param_fields={"nope": "a.b"})
    with pytest.raises(ValueError, match="raw_scores_param"):
        RerankWire(name="x", path="/r", raw_scores_param="raw")
    with pytest.raises(ValueError, match="default_base"):
        RerankWire(name="x", path="/r", key_required=True)


def test_provider_without_a_wire_says_what_to_set():
    class Forgot(CohereStyleProvider):
        pass

    with pytest.raises(TypeError, match="wire = RerankWire"):
        Forgot()


# -- URLs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        ("http://h:8080", "/v1/rerank", "http://h:8080/v1/rerank"),
        ("http://h:8080/", "/v1/rerank", "http://h:8080/v1/rerank"),
        ("http://h:8080/v1", "/v1/rerank", "http://h:8080/v1/rerank"),
        ("http://h:8080/v1/", "/v1/rerank", "http://h:8080/v1/rerank"),
        ("http://h:8080/v1/rerank", "/v1/rerank", "http://h:8080/v1/rerank"),
        ("http://h:8080/v1", "/rerank", "http://h:8080/v1/rerank"),
        ("http://h:8080/v2", "/rerank", "http://h:8080/v2/rerank"),
        ("http://h:8080/rerank/", "/rerank", "http://h:8080/rerank"),
        ("https://gw.test/team/api", "/v1/rerank", "https://gw.test/team/api/v1/rerank"),
        ("http://h/x?tenant=1", "/rerank", "http://h/x/rerank?tenant=1"),
    ],
)
def test_join_endpoint_never_doubles(base, path, expected):
    assert join_endpoint(base, path) == expected


@pytest.mark.parametrize("base", ["h:8080", "ftp://h", "http://", "localhost"])
def test_non_http_base_is_a_configuration_error(base):
    with pytest.raises(ConfigurationError, match="not an http"):
        join_endpoint(base, "/rerank", provider="X")


def test_default_base_and_override():
    assert HOSTED.build_request(req()).url == "https://api.hosted.test/v1/rerank"
    assert HOSTED.build_request(req(api_base="http://proxy:9/v1")).url == (
        "http://proxy:9/v1/rerank"
    )


def test_self_hosted_without_base_names_the_env_var():
    with pytest.raises(ConfigurationError, match=r"api_base=.*SELF_API_BASE"):
        SelfHosted().build_request(req(api_key=None))


# -- keys --------------------------------------------------------------------------------------


def test_missing_key_on_default_host_names_env_var():
    with pytest.raises(MissingApiKeyError, match="HOSTED_API_KEY"):
        HOSTED.build_request(req(api_key=None))


def test_no_key_needed_for_another_host():
    built = HOSTED.build_request(req(api_key=None, api_base="http://127.0.0.1:1"))
    assert "Authorization" not in built.headers


def test_key_is_sent_and_masked_in_repr():
    built = HOSTED.build_request(req())
    assert built.headers["Authorization"] == "Bearer sk-secret"
    assert "sk-secret" not in repr(built)
    assert "sk-secret" not in repr(req())


def test_custom_auth_header_without_scheme():
    class ApiKeyHeader(CohereStyleProvider):
        wire: ClassVar[RerankWire] = RerankWire(
            name="K", path="/r", auth_header="Api-Key", auth_scheme=None, headers={"X-V": "1"}
        )

    built = ApiKeyHeader().build_request(req(api_base="http://h"))
    assert built.headers["Api-Key"] == "sk-secret"
    assert built.headers["X-V"] == "1"
    assert "Authorization" not in built.headers


# -- body ------------------------------------------------------------------------------------


def test_body_maps_fields_and_nests_params():
    built = HOSTED.build_request(req(top_n=2, params={"truncate": "END", "raw_scores": True}))
    assert built.method == "POST"
    assert built.json == {
        "model": "m-1",
        "query": "q",
        "documents": ["a", "b", "c"],
        "top_n": 2,
        "return_documents": False,
        "parameters": {"truncate": "END"},
        "raw_scores": True,
    }


@pytest.mark.parametrize("top_n", [None, 3, 50])
def test_top_n_not_sent_when_it_does_not_cut(top_n):
    built = HOSTED.build_request(req(top_n=top_n))
    assert "top_n" not in built.json


def test_renamed_fields_objects_and_no_model():
    built = SelfHosted().build_request(req(api_base="http://h", top_n=1))
    assert built.json == {"query": "q", "texts": [{"text": "a"}, {"text": "b"}, {"text": "c"}]}


def test_param_outside_the_calls_wire_is_rejected():
    with pytest.raises(InvalidParameterError, match="'other'"):
        HOSTED.build_request(req(params={"other": 1}))


# -- parsing ---------------------------------------------------------------------------------


def test_parse_canonical_answer():
    ranking = HOSTED.parse_response(
        answer(
            {
                "id": "r-1",
                "model": "m-1",
                "results": [
                    {"index": 2, "relevance_score": 0.9},
                    {"index": 0, "relevance_score": 0.5},
                    {"index": 1, "relevance_score": 0.1},
                ],
                "usage": {"total_tokens": 7},
            }
        ),
        req(),
    )
    assert ranking.scores == [(2, 0.9), (0, 0.5), (1, 0.1)]
    assert (ranking.id, ranking.model, ranking.usage) == ("r-1", None, {"total_tokens": 7})
    assert ranking.partial is False


def test_partial_when_top_n_was_sent():
    ranking = HOSTED.parse_response(
        answer({"results": [{"index": 1, "relevance_score": 0.7}]}), req(top_n=1)
    )
    assert ranking.partial is True


@pytest.mark.parametrize(
    "body",
    [
        # a bare list instead of an object
        [{"index": 0, "relevance_score": 0.2}, {"index": 1, "relevance_score": 0.8}],
        # document null, document a plain string, extra fields, no usage, non-dict usage
        {
            "results": [
                {"index": 0, "relevance_score": 0.2, "document": None},
                {"index": 1, "relevance_score": 0.8, "document": "b", "extra": [1]},
            ],
            "usage": "n/a",
            "object": "rerank",
            "id": 42,
        },
    ],
)
def test_odd_shapes_parse(body):
    ranking = HOSTED.parse_response(answer(body), req(documents=("a", "b")))
    assert sorted(ranking.scores) == [(0, 0.2), (1, 0.8)]
    assert ranking.usage is None
    assert ranking.id is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"<html><body>502 Bad Gateway</body></html>", "not JSON"),
        (b"", "not JSON"),
        (json.dumps({"data": []}).encode(), "no 'results' list"),
        (json.dumps({"results": {"index": 0}}).encode(), "no 'results' list"),
        (json.dumps("results").encode(), "no 'results' list"),
        (json.dumps({"results": [{"relevance_score": 1.0}]}).encode(), "no 'index'"),
        (json.dumps({"results": [{"index": 0, "score": 1.0}]}).encode(), "no 'relevance_score'"),
        (json.dumps({"results": [7]}).encode(), "no 'index'"),
    ],
)
def test_unparseable_answers_are_typed_errors(raw, reason):
    with pytest.raises(InvalidResponseError, match=reason) as info:
        HOSTED.parse_response(HttpResponse(200, {}, raw), req())
    assert info.value.provider == "Hosted"
    assert info.value.body == raw.decode()


def test_score_kind_follows_raw_scores():
    assert HOSTED.score_kind_for(req()) == "probability"
    assert HOSTED.score_kind_for(req(params={"raw_scores": False})) == "probability"
    assert HOSTED.score_kind_for(req(params={"raw_scores": True})) == "logit"


# -- through the client: core checks and error mapping ----------------------------------------


def client_for(handler) -> rerankit.Client:
    registry = ProviderRegistry()
    registry.register("hosted", HOSTED)
    return rerankit.Client(transport=httpx.MockTransport(handler), registry=registry, max_retries=0)


def test_client_round_trip_with_partial_answer_and_raw_scores():
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        assert body["top_n"] == 1
        return httpx.Response(200, json={"results": [{"index": 1, "relevance_score": 3.5}]})

    with client_for(handler) as client:
        r = client.rerank(
            "hosted/m-1", "q", ["a", {"text": "b", "id": 9}], top_n=1, raw_scores=True, api_key="k"
        )
    assert [(x.index, x.relevance_score) for x in r.results] == [(1, 3.5)]
    assert r.results[0].document.model_dump() == {"text": "b", "id": 9}
    assert r.meta.score_kind == "logit"


@pytest.mark.parametrize(
    "results",
    [
        [{"index": 0, "relevance_score": 0.1}, {"index": 5, "relevance_score": 0.2}],
        [{"index": 0, "relevance_score": 0.1}, {"index": 0, "relevance_score": 0.2}],
        [{"index": 0, "relevance_score": 0.1}],  # fewer than sent, no top_n
        [{"index": 0, "relevance_score": "high"}, {"index": 1, "relevance_score": 0.2}],
    ],
)
def test_core_rejects_bad_indices_and_missing_results(results):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": results})

    with client_for(handler) as client, pytest.raises(InvalidResponseError):
        client.rerank("hosted/m-1", "q", ["a", "b"], api_key="k")


def test_html_error_page_maps_to_server_error():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    with client_for(handler) as client, pytest.raises(ServerError) as info:
        client.rerank("hosted/m-1", "q", ["a", "b"], api_key="sk-secret")
    assert info.value.status_code == 502
    assert "sk-secret" not in str(info.value)
    assert "Bad Gateway" in info.value.body


def test_partial_answer_shorter_than_top_n_is_invalid():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"results": [{"index": 1, "relevance_score": 0.5}]})

    with client_for(handler) as client, pytest.raises(InvalidResponseError, match="lost"):
        client.rerank("hosted/m-1", "q", ["a", "b", "c"], top_n=2, api_key="k")


def test_fastapi_validation_message_is_surfaced():
    def handler(request: httpx.Request) -> httpx.Response:
        detail = [{"loc": ["body", "query"], "msg": "String should have at least 1 character"}]
        return httpx.Response(422, json={"detail": detail})

    with client_for(handler) as client, pytest.raises(BadRequestError, match="at least 1"):
        client.rerank("hosted/m-1", "q", ["a", "b"], api_key="k")


# -- key variable aliases (an SDK's own name) ------------------------------------------------


class Aliased(CohereStyleProvider):
    wire: ClassVar[RerankWire] = RerankWire(
        name="Aliased",
        default_base="https://api.hosted.test",
        path="/v1/rerank",
        api_key_env="ALIASED_API_KEY",
        api_key_env_aliases=("ALIASED_SDK_KEY", "ALIASED_OLD_KEY"),
        key_required=True,
    )


def aliased_client(seen: list[httpx.Request]) -> rerankit.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"results": [{"index": 0, "relevance_score": 0.5}]})

    registry = ProviderRegistry()
    registry.register("aliased", Aliased())
    return rerankit.Client(transport=httpx.MockTransport(handler), registry=registry, max_retries=0)


def test_key_aliases_come_from_the_wire_and_are_listed():
    assert Aliased.api_key_env_aliases == ("ALIASED_SDK_KEY", "ALIASED_OLD_KEY")
    assert Aliased().env_vars() == ("ALIASED_API_KEY", "ALIASED_SDK_KEY", "ALIASED_OLD_KEY")


@pytest.mark.parametrize(
    ("env", "sent"),
    [
        ({"ALIASED_SDK_KEY": "sdk-key"}, "sdk-key"),
        ({"ALIASED_OLD_KEY": "old-key", "ALIASED_SDK_KEY": ""}, "old-key"),
        ({"ALIASED_API_KEY": "main-key", "ALIASED_SDK_KEY": "sdk-key"}, "main-key"),
    ],
)
def test_key_is_read_from_aliases_in_order_after_the_main_variable(monkeypatch, env, sent):
    for name in ("ALIASED_API_KEY", "ALIASED_SDK_KEY", "ALIASED_OLD_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    seen: list[httpx.Request] = []
    with aliased_client(seen) as client:
        client.rerank("aliased/m", "q", ["a"])
    assert seen[0].headers["authorization"] == f"Bearer {sent}"


def test_no_key_in_any_variable_is_still_missing(monkeypatch):
    for name in ("ALIASED_API_KEY", "ALIASED_SDK_KEY", "ALIASED_OLD_KEY"):
        monkeypatch.delenv(name, raising=False)
    with aliased_client([]) as client, pytest.raises(MissingApiKeyError, match="ALIASED_API_KEY"):
        client.rerank("aliased/m", "q", ["a"])
