"""The contract suite's data: its documents and scores, and the answer shapes it tries.

Every contract document is a distinct string, so the fake upstream finds the documents
a request carries by looking for those strings in its JSON body, in order, whatever the
wire calls the field. Each document's score is a fixed function of its position in the
caller's list (distinct, and not in index order), so a test can tell which result
belongs to which document even after a call was split into several requests.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = [
    "contract_documents",
    "score_of",
    "strings_in",
    "TOLERATED_SHAPES",
    "GARBAGE_ANSWERS",
    "BAD_RANKINGS",
]

QUERY = "which contract document is the most relevant?"


def contract_documents(count: int) -> list[str]:
    """`count` distinct documents, each naming its position."""
    return [f"contract document {i}: rerank me, please" for i in range(count)]


def score_of(position: int) -> float:
    """The fake upstream's score for the document at `position` (distinct, in (0, 1))."""
    # Multiplying by an odd constant permutes 0..2**32-1: distinct scores, shuffled order.
    return ((position * 2654435761 + 12345) % 2**32 + 1) / (2**32 + 2)


def strings_in(body: Any) -> Iterator[str]:
    """Every string in a JSON value, depth first, in document order."""
    if isinstance(body, str):
        yield body
    elif isinstance(body, dict):
        for value in body.values():
            yield from strings_in(value)
    elif isinstance(body, list):
        for value in body:
            yield from strings_in(value)


def _items(body: Any) -> list[dict[str, Any]]:
    """The result objects of an answer: dicts inside the answer's lists."""
    lists = [body] if isinstance(body, list) else [v for v in _values(body) if isinstance(v, list)]
    return [item for values in lists for item in values if isinstance(item, dict)]


def _values(body: Any) -> list[Any]:
    return list(body.values()) if isinstance(body, dict) else []


def _with_extra_fields(body: Any) -> Any:
    body = copy.deepcopy(body)
    if isinstance(body, dict):
        body["x_contract_extra"] = {"nested": [1, "two", None], "flag": True}
    for item in _items(body):
        item["x_contract_extra"] = "ignore me"
    return body


def _without_usage(body: Any) -> Any:
    body = copy.deepcopy(body)
    if isinstance(body, dict):
        for key in ("usage", "meta", "billed_units", "tokens"):
            body.pop(key, None)
    return body


def _set_document(value: Any) -> Callable[[Any], Any]:
    def mutate(body: Any) -> Any:
        body = copy.deepcopy(body)
        for item in _items(body):
            item["document"] = value
        return body

    return mutate


#: Variations of a correct answer that must parse to the same ranking.
TOLERATED_SHAPES: dict[str, Callable[[Any], Any]] = {
    "extra_fields": _with_extra_fields,
    "no_usage_or_meta": _without_usage,
    "null_document": _set_document(None),
    "string_document": _set_document("a document echoed as a plain string"),
    "object_document": _set_document({"text": "a document echoed as an object"}),
}

#: 200 answers that are no ranking at all: each must be an `InvalidResponseError`.
GARBAGE_ANSWERS: dict[str, tuple[bytes, str]] = {
    "html": (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
    "empty_body": (b"", "application/json"),
    "truncated_json": (b'{"results": [{"index": 0, "relevance', "application/json"),
    "json_null": (b"null", "application/json"),
    "json_string": (b'"ok"', "application/json"),
    "json_number": (b"42", "application/json"),
    "json_true": (b"true", "application/json"),
    "empty_object": (b"{}", "application/json"),
    "empty_list": (b"[]", "application/json"),
    "list_of_nulls": (b"[null, null, null]", "application/json"),
    "list_of_numbers": (b"[0.5, 0.25, 0.125]", "application/json"),
}


def _out_of_range(pairs: list[tuple[Any, Any]], n: int) -> list[tuple[Any, Any]]:
    return [(n + 3, pairs[0][1]), *pairs[1:]]


def _negative(pairs: list[tuple[Any, Any]], n: int) -> list[tuple[Any, Any]]:
    return [(-1, pairs[0][1]), *pairs[1:]]


def _repeated(pairs: list[tuple[Any, Any]], n: int) -> list[tuple[Any, Any]]:
    return [pairs[0], (pairs[0][0], pairs[1][1]), *pairs[2:]]


def _missing(pairs: list[tuple[Any, Any]], n: int) -> list[tuple[Any, Any]]:
    return pairs[:-1]


def _none_answered(pairs: list[tuple[Any, Any]], n: int) -> list[tuple[Any, Any]]:
    return []


def _score(value: Any) -> Callable[[list[tuple[Any, Any]], int], list[tuple[Any, Any]]]:
    def mutate(pairs: list[tuple[Any, Any]], n: int) -> list[tuple[Any, Any]]:
        return [(pairs[0][0], value), *pairs[1:]]

    return mutate


def _index(value: Any) -> Callable[[list[tuple[Any, Any]], int], list[tuple[Any, Any]]]:
    def mutate(pairs: list[tuple[Any, Any]], n: int) -> list[tuple[Any, Any]]:
        return [(value, pairs[0][1]), *pairs[1:]]

    return mutate


#: Rankings no upstream may give, rendered in the provider's own shape by the contract's
#: `answer`: each must be an `InvalidResponseError` (nothing lost, nothing invented).
BAD_RANKINGS: dict[str, Callable[[list[tuple[Any, Any]], int], list[tuple[Any, Any]]]] = {
    "index_out_of_range": _out_of_range,
    "negative_index": _negative,
    "repeated_index": _repeated,
    "missing_result": _missing,
    "no_results": _none_answered,
    "score_null": _score(None),
    "score_text": _score("high"),
    "score_nan": _score(float("nan")),
    "score_object": _score({"value": 0.5}),
    "index_null": _index(None),
    "index_text": _index("zero"),
    "index_float": _index(0.5),
}


def scored(documents: Sequence[str], positions: dict[str, int]) -> list[tuple[int, float]]:
    """The fake upstream's ranking of `documents`: (local index, score), best first."""
    pairs = [(i, score_of(positions[text])) for i, text in enumerate(documents)]
    return sorted(pairs, key=lambda pair: -pair[1])
