"""The pure-Python BM25 scorer of `local/bm25` and its tokeniser."""

from __future__ import annotations

import dataclasses
import math
import random
import string

import pytest

from rerankit.default_plugins.local.bm25 import DEFAULT_PARAMS, BM25Params, bm25_scores, tokenize

# --- tokenize ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        # case folding (ASCII and full Unicode casefold)
        ("Hello WORLD hElLo", ["hello", "world", "hello"]),
        ("STRASSE straße Straße", ["strasse", "strasse", "strasse"]),
        ("ΟΔΟΣ οδος", ["οδοσ", "οδοσ"]),
        ("ПРИВЕТ мир", ["привет", "мир"]),
        # NFKC: full-width letters and digits, ligatures, superscripts, styled letters
        ("\uff26\uff35\uff2c\uff2c \uff11\uff12 width", ["full", "12", "width"]),
        ("\ufb01le x\u00b2 \U0001d400\U0001d401", ["file", "x2", "ab"]),
        # punctuation, underscore and whitespace split
        ("snake_case-word,  dotted.name!?", ["snake", "case", "word", "dotted", "name"]),
        ("tab\tnew\nline\r\nend", ["tab", "new", "line", "end"]),
        ("(q) «guillemets» \u2018curly\u2019 — dash", ["q", "guillemets", "curly", "dash"]),
        ("a\u00a0b\u3000c", ["a", "b", "c"]),  # no-break and ideographic spaces
        # accents folded, precomposed or combining
        ("Café crème naïve Ångström", ["cafe", "creme", "naive", "angstrom"]),
        ("cafe\u0301 e\u0331", ["cafe", "e"]),
        ("İstanbul ÉCOLE", ["istanbul", "ecole"]),
        # numbers kept, alone or mixed with letters
        ("H100 delivers 3TB/s", ["h100", "delivers", "3tb", "s"]),
        ("1,000.50 v2.0 2024-05-01", ["1", "000", "50", "v2", "0", "2024", "05", "01"]),
        # Arabic-Indic digits are numbers too
        ("\u0663 \u0661\u0660\u0660", ["\u0663", "\u0661\u0660\u0660"]),
        # CJK: one token per ideograph / kana / hangul syllable
        ("日本語テキスト", ["日", "本", "語", "テ", "キ", "ス", "ト"]),
        ("我爱北京", ["我", "爱", "北", "京"]),
        ("ひらがな", ["ひ", "ら", "が", "な"]),
        ("ｶﾀｶﾅ", ["カ", "タ", "カ", "ナ"]),  # half-width katakana normalised
        ("한국어 서울", ["한", "국", "어", "서", "울"]),
        ("GPU显卡H100", ["gpu", "显", "卡", "h100"]),
        # emoji and symbols dropped, and they separate words
        ("emoji 🎉 only ✨", ["emoji", "only"]),
        ("a🎉b 👍🏽 👨\u200d👩\u200d👧 ok", ["a", "b", "ok"]),
        ("price $5 + 10% = €© ♥ → ∑", ["price", "5", "10"]),
        # other scripts keep whole words
        ("עברית מימין", ["עברית", "מימין"]),
        ("مرحبا بالعالم", ["مرحبا", "بالعالم"]),
        ("हिंदी भाषा", ["हिदी", "भाषा"]),  # vowel signs do not cut the word
        # format characters (soft hyphen, zero-width joiner) do not split
        ("co\u00adoperate zero\u200bwidth", ["cooperate", "zerowidth"]),
        # empty or token-less
        ("", []),
        ("   \t\n", []),
        ("!!! ... ___", []),
        ("🎉✨", []),
    ],
)
def test_tokenize(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


@pytest.mark.parametrize(
    "text",
    [
        string.printable,
        "Hello, World_1 x",
        "mixed-CASE and 42 numbers; punctuation!@#$%^&*()[]{}<>?/\\|`~'\"",
        "".join(chr(c) for c in range(128)),
    ],
)
def test_ascii_fast_path_agrees_with_the_unicode_path(text: str) -> None:
    # Appending a non-ASCII word forces the general path for the same ASCII prefix.
    assert [*tokenize(text), "e"] == tokenize(text + " é")


def test_tokenize_survives_lone_surrogates_and_private_use() -> None:
    assert tokenize("a\udcffb \ue000c") == ["a", "b", "c"]


def test_tokenize_matches_equivalent_spellings() -> None:
    assert tokenize("CAFÉ \uff33\uff34\uff32\uff21\uff33\uff33\uff25") == tokenize("cafe strasse")


# --- scores against the formula ---------------------------------------------------------------


def test_score_matches_the_formula_on_a_tiny_corpus() -> None:
    # d0 = "cat sat on the mat" (5 tokens), d1 = "cat cat" (2), d2 = "dog" (1).
    # N = 3, avgdl = 8 / 3. Query "cat mat": df(cat) = 2, df(mat) = 1.
    # idf(cat) = ln(1 + (3 - 2 + 0.5) / (2 + 0.5)) = ln(1.6)
    # idf(mat) = ln(1 + (3 - 1 + 0.5) / (1 + 0.5)) = ln(8 / 3)
    # d0: norm = 1.5 * (1 - 0.75 + 0.75 * 5 / (8 / 3)) = 1.5 * 1.65625 = 2.484375
    # d1: norm = 1.5 * (1 - 0.75 + 0.75 * 2 / (8 / 3)) = 1.5 * 0.8125 = 1.21875
    d0 = math.log(1.6) * 1 * 2.5 / (1 + 2.484375) + math.log(8 / 3) * 1 * 2.5 / (1 + 2.484375)
    d1 = math.log(1.6) * 2 * 2.5 / (2 + 1.21875)
    scores = bm25_scores("cat mat", ["cat sat on the mat", "cat cat", "dog"])
    assert scores == pytest.approx([d0, d1, 0.0], rel=1e-12)
    assert scores[2] == 0.0


def test_score_matches_the_formula_with_custom_params() -> None:
    # k1 = 1.2, b = 0.5. d0 = "apple apple pie" (3), d1 = "banana" (1): avgdl = 2, N = 2.
    # idf(apple) = ln(1 + (2 - 1 + 0.5) / (1 + 0.5)) = ln 2
    # d0: norm = 1.2 * (1 - 0.5 + 0.5 * 3 / 2) = 1.2 * 1.25 = 1.5
    expected = math.log(2) * 2 * 2.2 / (2 + 1.5)
    scores = bm25_scores("apple", ["apple apple pie", "banana"], BM25Params(k1=1.2, b=0.5))
    assert scores == pytest.approx([expected, 0.0], rel=1e-12)


def test_default_params() -> None:
    assert (DEFAULT_PARAMS.k1, DEFAULT_PARAMS.b) == (1.5, 0.75)
    assert BM25Params() == DEFAULT_PARAMS
    docs = ["apple apple pie", "banana", "apple"]
    assert bm25_scores("apple", docs) == bm25_scores("apple", docs, BM25Params(1.5, 0.75))
    assert bm25_scores("apple", docs, None) == bm25_scores("apple", docs)
    assert bm25_scores("apple", docs) != bm25_scores("apple", docs, BM25Params(1.5, 0.2))


def test_repeated_query_terms_count_once_per_occurrence() -> None:
    docs = ["cat sat on the mat", "cat cat", "dog"]
    once = bm25_scores("cat mat", docs)
    twice = bm25_scores("cat cat mat", docs)
    # d1 contains only "cat": its score doubles. d0 gains exactly one more "cat" contribution.
    assert twice[1] == pytest.approx(2 * once[1])
    cat_only = bm25_scores("cat", docs)
    assert twice[0] == pytest.approx(once[0] + cat_only[0])


def test_long_queries_add_up_per_term() -> None:
    # BM25 is a sum over query terms; long queries (many distinct terms) must agree with it.
    terms = [f"t{i}" for i in range(12)]
    rng = random.Random(3)
    docs = [
        " ".join(rng.choices([*terms, "pad", "filler"], k=rng.randint(1, 30))) for _ in range(30)
    ]
    query = " ".join(terms)
    per_term = [bm25_scores(term, docs) for term in terms]
    expected = [sum(column) for column in zip(*per_term, strict=True)]
    assert bm25_scores(query, docs) == pytest.approx(expected, rel=1e-12)


def test_query_and_documents_are_normalised_alike() -> None:
    scores = bm25_scores("CAFÉ Straße", ["cafe strasse", "tea house"])
    assert scores[0] > 0.0
    assert scores[1] == 0.0


def test_unspaced_cjk_matches_by_character() -> None:
    scores = bm25_scores("东京", ["我住在东京", "我住在北京", "hello"])
    assert scores[0] > scores[1] > 0.0  # 北京 shares 京 only
    assert scores[2] == 0.0


# --- ranking behaviour ------------------------------------------------------------------------


def test_relevant_document_outranks_irrelevant_ones() -> None:
    docs = [
        "Bananas are yellow and rich in potassium.",
        "The H100 GPU delivers 3TB/s of memory bandwidth.",
        "Memory of a summer afternoon.",
        "A100 GPU with 2TB/s.",
    ]
    scores = bm25_scores("GPU memory bandwidth of the H100", docs)
    assert max(range(len(docs)), key=scores.__getitem__) == 1
    assert scores[1] > scores[3] > scores[0]
    assert scores[2] > scores[0] == 0.0


def test_term_frequency_saturates() -> None:
    # Same length (10 tokens) so only tf changes; "other" keeps df(x) below N.
    docs = [" ".join(["x"] * tf + ["pad"] * (10 - tf)) for tf in (1, 2, 3, 4)] + ["other"]
    s = bm25_scores("x", docs)
    assert s[0] < s[1] < s[2] < s[3]
    increments = [s[1] - s[0], s[2] - s[1], s[3] - s[2]]
    assert increments[0] > increments[1] > increments[2] > 0
    # Bounded by idf * (k1 + 1) however many occurrences: df(x) = 4, N = 5.
    bound = math.log(1 + (5 - 4 + 0.5) / (4 + 0.5)) * 2.5
    assert bm25_scores("x", [*docs, "x " * 1000])[-1] < bound


def test_k1_zero_makes_term_frequency_binary() -> None:
    docs = ["x pad pad pad", "x x x pad", "other"]
    s = bm25_scores("x", docs, BM25Params(k1=0))
    assert s[0] == pytest.approx(s[1])
    assert s[0] == pytest.approx(math.log(1 + (3 - 2 + 0.5) / (2 + 0.5)))


def test_length_normalisation_and_b_zero() -> None:
    docs = ["rare word", "rare word " + "filler " * 20, "unrelated"]
    normal = bm25_scores("rare", docs)
    assert normal[0] > normal[1] > 0.0
    flat = bm25_scores("rare", docs, BM25Params(b=0))
    assert flat[0] == pytest.approx(flat[1])
    full = bm25_scores("rare", docs, BM25Params(b=1))
    # A stronger b penalises the long document more.
    assert full[1] / full[0] < normal[1] / normal[0] < flat[1] / flat[0]


def test_common_terms_weigh_less_than_rare_ones() -> None:
    docs = ["common rare", "common", "common", "common"]
    common = bm25_scores("common", docs)[0]
    rare = bm25_scores("rare", docs)[0]
    assert 0.0 < common < rare
    # A term in every document still contributes, with idf = ln(1 + 0.5 / (N + 0.5)).
    assert common == pytest.approx(
        math.log(1 + 0.5 / 4.5) * 2.5 / (1 + 1.5 * (0.25 + 0.75 * 2 / 1.25))
    )
    both = bm25_scores("common rare", docs)[0]
    assert both == pytest.approx(common + rare)


def test_scores_are_never_negative() -> None:
    rng = random.Random(7)
    words = ["a", "b", "c", "d", "e"]
    docs = [" ".join(rng.choices(words, k=rng.randint(0, 12))) for _ in range(40)]
    scores = bm25_scores("a b c a", docs)
    assert all(s >= 0.0 for s in scores)
    assert any(s > 0.0 for s in scores)


# --- edge cases -------------------------------------------------------------------------------


def test_query_without_tokens_scores_everything_zero() -> None:
    assert bm25_scores("!!! 🎉", ["a", "b !!!"]) == [0.0, 0.0]
    assert bm25_scores("", ["a"]) == [0.0]


def test_empty_documents_score_zero() -> None:
    assert bm25_scores("a", ["", ""]) == [0.0, 0.0]  # avgdl == 0
    token_less = bm25_scores("a", ["", "🎉 ...", "a"])
    assert token_less[:2] == [0.0, 0.0]
    assert token_less[2] > 0.0
    scores = bm25_scores("a", ["", "a b", "", "b"])
    assert scores[0] == scores[2] == 0.0
    assert scores[1] > 0.0


def test_no_documents() -> None:
    assert bm25_scores("a", []) == []


def test_one_float_per_document_in_input_order() -> None:
    docs = ("nothing", "target here", "nothing again", "target target", "x")
    scores = bm25_scores("target", docs)  # any Sequence, here a tuple
    assert len(scores) == len(docs)
    assert all(type(s) is float for s in scores)
    assert [i for i, s in enumerate(scores) if s > 0] == [1, 3]
    permutation = [4, 3, 0, 2, 1]
    permuted = bm25_scores("target", [docs[i] for i in permutation])
    assert permuted == pytest.approx([scores[i] for i in permutation])


def test_duplicate_documents_score_the_same() -> None:
    scores = bm25_scores("gpu", ["gpu memory", "other", "gpu memory"])
    assert scores[0] == scores[2] > 0.0


# --- params -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"k1": -1}, "k1"),
        ({"k1": -0.001}, "k1"),
        ({"k1": math.nan}, "k1"),
        ({"k1": math.inf}, "k1"),
        ({"k1": "1.5"}, "k1"),
        ({"k1": True}, "k1"),
        ({"b": 1.5}, "b"),
        ({"b": -0.1}, "b"),
        ({"b": math.nan}, "b"),
        ({"b": None}, "b"),
    ],
)
def test_params_are_validated(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=rf"\b{field}\b"):
        BM25Params(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(("k1", "b"), [(0, 0), (0.0, 1.0), (1, 1), (100.0, 0.5)])
def test_boundary_params_are_accepted_and_stored_as_floats(k1: float, b: float) -> None:
    params = BM25Params(k1=k1, b=b)
    assert (params.k1, params.b) == (k1, b)
    assert type(params.k1) is float
    assert type(params.b) is float


def test_params_are_frozen() -> None:
    params = BM25Params()
    with pytest.raises(dataclasses.FrozenInstanceError):
        params.k1 = 2.0  # type: ignore[misc]
