"""Checks on the caller's input, done once, before any network call.

Each failure is an `InvalidRequestError` that says which value is wrong and what to send.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidParameterError, InvalidRequestError

__all__ = [
    "DocumentInput",
    "check_query",
    "check_documents",
    "check_top_n",
    "check_flag",
    "check_unicode",
]

#: A document as callers give it: a string, or a mapping with a string `text`.
DocumentInput = str | Mapping[str, Any]

#: A surrogate code point alone is no character: UTF-8 cannot encode it, so an upstream
#: would get (and bill) a request whose answer could not be written back.
_SURROGATE = re.compile("[\ud800-\udfff]")
_STR = {str}


def check_query(query: object) -> str:
    """The query, if it is a non-blank string."""
    if not isinstance(query, str):
        raise InvalidRequestError(f"query must be a string, got {type(query).__name__}.")
    if not query.strip():
        raise InvalidRequestError("query is empty: pass the text to rank the documents against.")
    if not query.isascii():
        check_unicode("query", query)
    return query


def check_documents(documents: object) -> tuple[str, ...]:
    """The documents' texts, in order. Strings are texts; mappings give their `text`."""
    # The common call (a list of ASCII strings, as the proxy and most callers send),
    # decided at C speed; anything else takes the loop below, which says what is wrong.
    if (
        type(documents) is list
        and documents
        and set(map(type, documents)) == _STR
        and all(map(str.isascii, documents))
    ):
        return tuple(documents)
    if isinstance(documents, str | bytes | Mapping) or not isinstance(documents, Sequence):
        raise InvalidRequestError(
            f"documents must be a list of strings or of objects with a 'text' field, "
            f"got {type(documents).__name__}."
        )
    if not documents:
        raise InvalidRequestError("documents is empty: pass at least one document to rank.")
    texts: list[str] = []
    for i, doc in enumerate(documents):
        if isinstance(doc, str):
            text = doc
        elif isinstance(doc, Mapping) and isinstance(doc.get("text"), str):
            text = doc["text"]
        else:
            raise InvalidRequestError(
                f"documents[{i}] must be a string or an object with a string 'text' field, "
                f"got {_describe(doc)}."
            )
        if not text.isascii():  # ASCII (the common case) cannot hold a surrogate
            check_unicode(f"documents[{i}]", text)
        texts.append(text)
    return tuple(texts)


def check_unicode(what: str, text: str) -> None:
    """Refuse `text` when it holds a lone surrogate (it cannot be sent as UTF-8)."""
    found = _SURROGATE.search(text)
    if found is not None:
        raise InvalidRequestError(
            f"{what} holds a lone surrogate (U+{ord(found.group()):04X}) at character "
            f"{found.start()}, which is not text and cannot be sent. Fix the text's "
            f"source, or clean it with text.encode('utf-8', 'replace').decode()."
        )


def check_top_n(top_n: object) -> int | None:
    """`top_n` if it is None or a whole number >= 1 (more than the documents means all)."""
    if top_n is None:
        return None
    if isinstance(top_n, bool) or not isinstance(top_n, int):
        raise InvalidParameterError(
            f"top_n must be a whole number >= 1 or None, got {type(top_n).__name__} {top_n!r}.",
            parameter="top_n",
        )
    if top_n < 1:
        raise InvalidParameterError(
            f"top_n must be >= 1 (omit it to get every document), got {top_n}.",
            parameter="top_n",
        )
    return top_n


def check_flag(name: str, value: object) -> bool:
    """A boolean parameter, strictly."""
    if not isinstance(value, bool):
        raise InvalidParameterError(
            f"{name} must be True or False, got {type(value).__name__} {value!r}.",
            parameter=name,
        )
    return value


def _describe(value: object) -> str:
    if value is None:
        return "None"
    if isinstance(value, Mapping):
        return f"an object with keys {sorted(map(str, value))}"
    return type(value).__name__
