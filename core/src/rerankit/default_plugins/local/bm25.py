"""Pure-Python Okapi BM25 scoring for the offline `local/bm25` provider.

Scoring
-------
The corpus is exactly the documents of one call (``N`` documents). For a query ``Q`` and a
document ``D``::

    score(D, Q) = sum over query tokens t of
                  IDF(t) * tf(t, D) * (k1 + 1)
                  / (tf(t, D) + k1 * (1 - b + b * |D| / avgdl))

    IDF(t) = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))

where ``tf(t, D)`` is the number of occurrences of ``t`` in ``D``, ``df(t)`` the number of
documents containing ``t``, ``|D|`` the number of tokens in ``D`` and ``avgdl`` the mean of
``|D|`` over the ``N`` documents. The IDF is the non-negative Lucene form, so every score is
``>= 0``. A query token that appears several times in the query is counted once per
occurrence (its contribution is multiplied by its query frequency), which is what a Lucene
boolean query with a repeated clause does. Documents with no tokens score ``0.0``; when every
document is empty (``avgdl == 0``) every score is ``0.0``. With ``k1 == 0`` a term contributes
``IDF(t)`` whenever it occurs at all (binary model).

Tokenisation
------------
:func:`tokenize` turns text into a list of lowercase tokens:

1. NFKC normalisation then ``str.casefold`` ("STRASSE" and "straße" both give ``strasse``;
   full-width letters give ASCII ones (U+FF21 gives ``a``); "²" gives ``2``).
2. Accent folding: each character is decomposed (NFKD) and its nonspacing and enclosing
   marks (categories ``Mn``, ``Me``) dropped, so "café" gives ``cafe``.
3. Tokens are maximal runs of letters (``L*``), numbers (``N*``) and spacing combining marks
   (``Mc``, so Indic words are not cut at vowel signs). This is ``\\w+`` without the
   underscore. Digits are kept and may mix with letters ("3tb", "h100").
4. CJK ideographs, hiragana, katakana and Hangul syllables are each emitted as a
   single-character token, so unspaced Chinese, Japanese or Korean text matches character by
   character (Korean included, for consistency and because Korean particles attach to words).
5. Everything else separates tokens: whitespace, punctuation (including ``_``), symbols and
   emoji, which therefore never appear in tokens. Format characters (``Cf``: soft hyphen,
   zero-width joiners) are dropped without splitting.

Pure-ASCII text skips the normalisation steps, which cannot change it.
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["DEFAULT_PARAMS", "BM25Params", "bm25_scores", "tokenize"]

# Code point ranges whose characters become one token each: CJK ideographs (unified,
# extensions A-I, compatibility), the ideographic iteration mark, closing mark and number zero,
# hiragana, katakana (with phonetic extensions and the kana supplements), Hangul syllables.
_SINGLE_CHAR_RANGES: tuple[tuple[int, int], ...] = (
    (0x3005, 0x3007),  # ideographic iteration mark, closing mark, number zero
    (0x3040, 0x309F),  # Hiragana
    (0x30A0, 0x30FF),  # Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7A3),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x1AFF0, 0x1B16F),  # Kana extended-B, kana supplement, kana extended-A, small kana
    (0x20000, 0x323AF),  # CJK extensions B-I and the compatibility supplement
)


def _is_single_char(cp: int) -> bool:
    return any(lo <= cp <= hi for lo, hi in _SINGLE_CHAR_RANGES)


def _fold_char(ch: str) -> str:
    """Map one (NFKC-normalised, casefolded) character to its contribution to the token
    stream: itself, "" (dropped), " " (separator) or " x " (a single-character token)."""
    cp = ord(ch)
    if _is_single_char(cp):
        # Checked before decomposition: NFKD would split Hangul syllables into jamo.
        return f" {ch} "
    out: list[str] = []
    for part in unicodedata.normalize("NFKD", ch):
        category = unicodedata.category(part)
        if category in ("Mn", "Me", "Cf"):
            continue
        if _is_single_char(ord(part)):
            out.append(f" {part} ")
        elif category[0] in "LN" or category == "Mc":
            out.append(part)
        else:
            out.append(" ")
    return "".join(out)


class _FoldTable(dict[int, str]):
    """``str.translate`` table filled lazily, one entry per distinct code point seen.

    It grows to at most the number of distinct characters ever tokenised (a few MB in the
    worst case); concurrent fills are harmless since every thread computes the same value.
    """

    def __missing__(self, cp: int) -> str:
        value = _fold_char(chr(cp))
        self[cp] = value
        return value


# ASCII is pre-filled so that pure-ASCII text can skip normalisation and casefolding.
_FOLD_TABLE = _FoldTable({cp: chr(cp).lower() if chr(cp).isalnum() else " " for cp in range(128)})

_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")

# Bytes table: ASCII letters and digits, and all non-ASCII (UTF-8) bytes, kept; the rest of
# ASCII (punctuation, "_", whitespace, controls) becomes a space.
_ASCII_SEPARATORS = bytes(
    byte if byte >= 0x80 or chr(byte).isalnum() else 0x20 for byte in range(256)
)


def _fold_run(match: re.Match[str]) -> str:
    return match.group().translate(_FOLD_TABLE)


# Above this many distinct query terms a Counter per document beats one list.count per term.
_COUNTER_THRESHOLD = 8


def tokenize(text: str) -> list[str]:
    """Split ``text`` into normalised lexical tokens (see the module docstring for the rules).

    >>> tokenize("Café, STRASSE & 3TB_drive!")
    ['cafe', 'strasse', '3tb', 'drive']
    >>> tokenize("東京タワー")
    ['東', '京', 'タ', 'ワ', 'ー']
    """
    if text.isascii():
        # ASCII is already NFKC-normalised and casefolds to its lowercase; the table lowercases.
        return text.translate(_FOLD_TABLE).split()
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Fold only the non-ASCII runs through the (slower, per-character) table; the ASCII left
    # over is letters, digits and separators, mapped at C speed on the UTF-8 bytes, where
    # every byte >= 0x80 belongs to a character the table already folded into a token.
    folded = _NON_ASCII_RUN.sub(_fold_run, folded)
    return folded.encode().translate(_ASCII_SEPARATORS).decode().split()


@dataclass(frozen=True, slots=True)
class BM25Params:
    """BM25 tuning parameters.

    ``k1`` (>= 0) controls term-frequency saturation: 0 makes term frequency binary, larger
    values let repeated occurrences count for longer. ``b`` (0..1) controls document-length
    normalisation: 0 disables it, 1 normalises fully by ``|D| / avgdl``.
    """

    k1: float = 1.5
    b: float = 0.75

    def __post_init__(self) -> None:
        for name in ("k1", "b"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise ValueError(f"BM25 parameter {name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"BM25 parameter {name} must be finite, got {value!r}")
            object.__setattr__(self, name, float(value))
        if self.k1 < 0:
            raise ValueError(f"BM25 parameter k1 must be >= 0, got {self.k1!r}")
        if not 0 <= self.b <= 1:
            raise ValueError(f"BM25 parameter b must be between 0 and 1, got {self.b!r}")


DEFAULT_PARAMS = BM25Params()
"""The default parameters, ``k1=1.5`` and ``b=0.75``."""


def bm25_scores(
    query: str, documents: Sequence[str], params: BM25Params | None = DEFAULT_PARAMS
) -> list[float]:
    """Score each of ``documents`` against ``query`` with Okapi BM25.

    The corpus statistics (N, document frequencies, average length) come from ``documents``
    alone. Returns one non-negative float per document, in input order; empty documents, and
    every document when the query has no tokens, score ``0.0``. ``params=None`` means
    :data:`DEFAULT_PARAMS`.
    """
    if params is None:
        params = DEFAULT_PARAMS
    n_docs = len(documents)
    query_tf = Counter(tokenize(query))
    if n_docs == 0:
        return []
    if not query_tf:
        return [0.0] * n_docs

    terms = list(query_tf)
    lengths: list[int] = []
    # Per document: (index, [(term position, tf), ...]) for the query terms it contains.
    matches: list[tuple[int, list[tuple[int, int]]]] = []
    df = [0] * len(terms)
    use_counter = len(terms) > _COUNTER_THRESHOLD
    for index, document in enumerate(documents):
        tokens = tokenize(document)
        lengths.append(len(tokens))
        if not tokens:
            continue
        if use_counter:
            counts = Counter(tokens)
            tfs = [counts.get(term, 0) for term in terms]
        else:
            tfs = [tokens.count(term) for term in terms]
        found: list[tuple[int, int]] = []
        for position, tf in enumerate(tfs):
            if tf:
                found.append((position, tf))
                df[position] += 1
        if found:
            matches.append((index, found))

    scores = [0.0] * n_docs
    total_length = sum(lengths)
    if total_length == 0 or not matches:
        return scores
    avgdl = total_length / n_docs
    k1, b = params.k1, params.b
    # Query frequency and the (k1 + 1) numerator factor are folded into the term weight.
    weights = [
        query_tf[term] * math.log(1.0 + (n_docs - d + 0.5) / (d + 0.5)) * (k1 + 1.0)
        for term, d in zip(terms, df, strict=True)
    ]
    for index, found in matches:
        norm = k1 * (1.0 - b + b * lengths[index] / avgdl)
        scores[index] = sum(weights[position] * tf / (tf + norm) for position, tf in found)
    return scores
