"""Score normalisation: `normalize=` on calls and clients, `meta.score_kind` after it, and
the once-only warning when a fallback answers on another scale."""

from __future__ import annotations

import math
import warnings
from typing import ClassVar

import httpx
import pytest

import rerankit
from rerankit import AsyncClient, Client, LocalProvider, ProviderRequest, Ranking, RerankitWarning
from rerankit._normalize import normalize, normalized_kind
from rerankit.errors import InvalidParameterError
from rerankit.provider import ScoreKind
from rerankit.registry import ProviderRegistry
from tests.core.fakes import EchoProvider

DOCS = ["a", "b", "c", "d"]


class Fixed(LocalProvider):
    """Scores the documents with fixed numbers of a given kind."""

    def __init__(self, kind: ScoreKind, scores: tuple[float, ...] = (2.0, -1.0, 0.0, 5.0)) -> None:
        self.kind = kind
        self.scores = scores

    def score_kind_for(self, request: ProviderRequest) -> ScoreKind:
        return self.kind

    def rerank(self, request: ProviderRequest) -> Ranking:
        return Ranking(list(enumerate(self.scores[: len(request.documents)])))


class LogitEcho(EchoProvider):
    score_kind: ClassVar[ScoreKind] = "logit"


def registry() -> ProviderRegistry:
    reg = ProviderRegistry()
    for kind in ("logit", "probability", "bm25", "unknown"):
        reg.register(kind, Fixed(kind))  # type: ignore[arg-type]
    reg.register("probs", Fixed("probability", (0.2, 0.9, 0.5, 0.1)))
    reg.register("echo", LogitEcho())
    return reg


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def pairs(response: rerankit.RerankResponse) -> list[tuple[int, float]]:
    return [(r.index, r.relevance_score) for r in response.results]


def test_raw_scores_by_default():
    response = Client(registry=registry()).rerank("logit/m", "q", DOCS)
    assert pairs(response) == [(3, 5.0), (0, 2.0), (2, 0.0), (1, -1.0)]
    assert response.meta.score_kind == "logit"


def test_sigmoid_turns_logits_into_probabilities_in_the_same_order():
    response = Client(registry=registry()).rerank("logit/m", "q", DOCS, normalize="sigmoid")
    assert pairs(response) == [(3, sigmoid(5)), (0, sigmoid(2)), (2, 0.5), (1, sigmoid(-1))]
    assert response.meta.score_kind == "probability"


def test_sigmoid_leaves_probabilities_alone():
    response = Client(registry=registry()).rerank("probs/m", "q", DOCS, normalize="sigmoid")
    assert pairs(response) == [(1, 0.9), (2, 0.5), (0, 0.2), (3, 0.1)]
    assert response.meta.score_kind == "probability"


@pytest.mark.parametrize("kind", ["bm25", "unknown"])
def test_sigmoid_on_scores_that_are_no_logits_warns_and_keeps_them(kind):
    with pytest.warns(RerankitWarning, match=f"left {kind} scores unchanged.*'minmax'"):
        response = Client(registry=registry()).rerank(f"{kind}/m", "q", DOCS, normalize="sigmoid")
    assert pairs(response)[0] == (3, 5.0)
    assert response.meta.score_kind == kind


def test_minmax_scales_within_the_answer_after_top_n():
    client = Client(registry=registry(), normalize="minmax")  # a client default
    response = client.rerank("bm25/m", "q", DOCS)
    assert pairs(response) == [(3, 1.0), (0, 0.5), (2, pytest.approx(1 / 6)), (1, 0.0)]
    assert response.meta.score_kind == "minmax"
    top = client.rerank("bm25/m", "q", DOCS, top_n=2)
    assert pairs(top) == [(3, 1.0), (0, 0.0)]  # the answer is what is scaled
    raw = client.rerank("bm25/m", "q", DOCS, normalize=None)  # a call overrides the client
    assert pairs(raw)[0] == (3, 5.0) and raw.meta.score_kind == "bm25"


def test_module_functions_take_normalize():
    response = rerankit.rerank(
        "local/bm25", "red fruit", ["green apple", "red cherry"], normalize="minmax"
    )
    assert [r.relevance_score for r in response.results] == [1.0, 0.0]
    assert response.meta.score_kind == "minmax"


async def test_async_client_normalizes_alike():
    async with AsyncClient(registry=registry(), normalize="sigmoid") as client:
        response = await client.rerank("logit/m", "q", DOCS)
    assert pairs(response)[0] == (3, sigmoid(5))
    assert response.meta.score_kind == "probability"


@pytest.mark.parametrize("value", ["softmax", "SIGMOID", 1, True, ""])
def test_unknown_normalisation_is_refused(value):
    with pytest.raises(InvalidParameterError, match="normalize must be one of None, 'sigmoid'"):
        Client(registry=registry()).rerank("logit/m", "q", DOCS, normalize=value)
    with pytest.raises(InvalidParameterError, match="normalize must be one of"):
        Client(registry=registry(), normalize=value)


def test_minmax_edges():
    assert normalize([(0, 3.0)], "logit", "minmax") == [(0, 1.0)]
    assert normalize([(0, 2.0), (1, 2.0)], "bm25", "minmax") == [(0, 1.0), (1, 1.0)]
    huge = normalize([(0, 1e308), (1, -1e308), (2, 0.0)], "unknown", "minmax")
    assert huge == [(0, 1.0), (1, 0.0), (2, 0.5)]  # no overflow to inf
    infinite = normalize([(0, math.inf), (1, 1.0), (2, 3.0), (3, -math.inf)], "logit", "minmax")
    assert infinite == [(0, 1.0), (1, 0.0), (2, 1.0), (3, 0.0)]
    assert normalize([], "logit", "minmax") == []


def test_sigmoid_edges_do_not_overflow():
    assert normalize([(0, 1000.0), (1, -1000.0)], "logit", "sigmoid") == [(0, 1.0), (1, 0.0)]


@pytest.mark.parametrize(
    ("kind", "how", "after"),
    [
        ("logit", None, "logit"),
        ("logit", "sigmoid", "probability"),
        ("probability", "sigmoid", "probability"),
        ("bm25", "sigmoid", "bm25"),
        ("unknown", "sigmoid", "unknown"),
        ("bm25", "minmax", "minmax"),
        ("probability", "minmax", "minmax"),
    ],
)
def test_kind_after_normalisation(kind, how, after):
    assert normalized_kind(kind, how) == after


def failing_echo() -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(503, json={"message": "down"}))


def test_fallback_on_another_scale_warns_once():
    client = Client(
        registry=registry(), transport=failing_echo(), max_retries=0, fallbacks=["bm25/m"]
    )
    with pytest.warns(RerankitWarning, match="'bm25/m' answered with bm25 scores where 'echo/m'"):
        response = client.rerank("echo/m", "q", DOCS)
    assert response.meta.score_kind == "bm25"
    assert response.meta.fallbacks_tried[0]["model"] == "echo/m"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.rerank("echo/m", "q", DOCS)  # the same pair again: no second warning


@pytest.mark.parametrize(("fallback", "how"), [("logit/m", None), ("bm25/m", "minmax")])
def test_fallback_on_the_same_scale_does_not_warn(fallback, how):
    client = Client(
        registry=registry(), transport=failing_echo(), max_retries=0, fallbacks=[fallback]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        response = client.rerank("echo/m", "q", DOCS, normalize=how)
    assert response.meta.fallbacks_tried


def test_sigmoid_puts_a_logit_primary_and_probability_fallback_on_one_scale():
    client = Client(
        registry=registry(), transport=failing_echo(), max_retries=0, fallbacks=["probability/m"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client.rerank("echo/m", "q", DOCS, normalize="sigmoid")
    with pytest.warns(RerankitWarning, match="probability scores where 'echo/m' gives logit"):
        client.rerank("echo/m", "q", DOCS)
