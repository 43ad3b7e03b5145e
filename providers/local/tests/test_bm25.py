"""The BM25 scorer and its tokeniser."""

from __future__ import annotations

import math

import pytest

from rerankit_local.bm25 import BM25Params, bm25_scores, tokenize


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Hello, WORLD!", ["hello", "world"]),
        ("Café crème", ["cafe", "creme"]),
        ("STRASSE straße", ["strasse", "strasse"]),
        ("\uff26\uff35\uff2c\uff2c width", ["full", "width"]),  # full-width letters
        ("H100 delivers 3TB/s", ["h100", "delivers", "3tb", "s"]),
        ("snake_case-word", ["snake", "case", "word"]),
        ("日本語テキスト", ["日", "本", "語", "テ", "キ", "ス", "ト"]),
        ("emoji 🎉 only ✨", ["emoji", "only"]),
        ("", []),
        ("עברית מימין", ["עברית", "מימין"]),
    ],
)
def test_tokenize(text, tokens):
    assert tokenize(text) == tokens


def test_score_matches_the_formula_on_a_tiny_corpus():
    # Corpus: d0 = "apple apple pie" (3 tokens), d1 = "banana" (1 token); avgdl = 2.
    # Query "apple": df = 1, N = 2 -> idf = ln(1 + (2 - 1 + 0.5) / (1 + 0.5)) = ln 2.
    # d0: tf = 2, norm = 1.5 * (1 - 0.75 + 0.75 * 3 / 2) = 2.0625
    #     score = ln 2 * 2 * 2.5 / (2 + 2.0625)
    expected = math.log(2) * 2 * 2.5 / (2 + 2.0625)
    scores = bm25_scores("apple", ["apple apple pie", "banana"])
    assert scores[0] == pytest.approx(expected)
    assert scores[1] == 0.0


def test_term_frequency_saturates():
    docs = ["x " * 1 + "pad " * 9, "x " * 2 + "pad " * 8, "x " * 3 + "pad " * 7, "other"]
    s = bm25_scores("x", docs)
    assert s[0] < s[1] < s[2]
    assert s[2] - s[1] < s[1] - s[0]


def test_length_normalisation_and_b_zero():
    docs = ["rare word", "rare word " + "filler " * 20, "unrelated"]
    normal = bm25_scores("rare", docs)
    assert normal[0] > normal[1]
    flat = bm25_scores("rare", docs, BM25Params(b=0))
    assert flat[0] == pytest.approx(flat[1])


def test_common_terms_weigh_less_than_rare_ones():
    docs = ["common rare", "common", "common", "common"]
    s = bm25_scores("common rare", docs)
    only_common = bm25_scores("common", docs)
    assert s[0] - only_common[0] > only_common[0]


def test_queries_without_tokens_and_empty_documents_score_zero():
    assert bm25_scores("!!! 🎉", ["a", "b"]) == [0.0, 0.0]
    assert bm25_scores("a", ["", ""]) == [0.0, 0.0]
    assert bm25_scores("a", []) == []


def test_input_order_is_preserved():
    docs = ["nothing", "target here", "nothing again"]
    s = bm25_scores("target", docs)
    assert s[1] > 0 and s[0] == s[2] == 0.0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"k1": -1}, "k1"), ({"b": 1.5}, "b"), ({"b": -0.1}, "b"), ({"k1": math.nan}, "k1")],
)
def test_params_are_validated(kwargs, field):
    with pytest.raises(ValueError, match=field):
        BM25Params(**kwargs)
