"""The request and response shapes the proxy speaks, parsed and written by hand.

- `rerank` (`POST /rerank`), `cohere_v1` (`/v1/rerank`), `cohere_v2` (`/v2/rerank`):
  `{model, query, documents, top_n?, return_documents?, rank_fields?, <provider params>}`
  with documents as strings or objects (`text`, or the fields named in `rank_fields`);
  answered in Cohere's shape `{id, model, results[{index, relevance_score, document?}], meta}`.
- `nim` (`POST /v1/ranking`): `{model, query{text}, passages[{text}], truncate?}` ->
  `{rankings[{index, logit}]}`, best first.

Only documented fields pass: any other top-level field must be a parameter of the target
model's provider (`truncate`, ...), never an address, a key or a client setting.
Every optional field may be `null`, meaning "not sent" (LangChain's `CohereRerank` sends
`max_tokens_per_doc: null` on every call). Of Cohere's own fields, `metadata` and `user`
are accepted and dropped (never passed upstream, logged or used as a metric label: a
client puts anything there); `priority` goes to providers that take it and is dropped for
the rest (it orders a queue, not the answer); `max_tokens_per_doc` and
`max_chunks_per_doc` go to providers that take them and are refused (422) for the rest,
since dropping them would change the answer.
Shape errors (missing, unknown or ill-typed fields) are 422; values outside the limits 400.

Before any field is looked at, the body must be JSON nested at most `MAX_JSON_DEPTH`
levels deep, and hold no lone surrogate escape (`"\ud800"`) in any string or key: such a
string is no text, could not be written back in the answer, and is refused (400) before
an upstream is called and bills for it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from rerankit.types import RerankAnswer

from .asgi import ApiError
from .config import Limits
from .params import ProviderParams

__all__ = [
    "Shape",
    "RequestField",
    "COHERE_REQUEST",
    "NIM_REQUEST",
    "RerankCall",
    "MAX_JSON_DEPTH",
    "load_json",
    "parse_call",
    "check_params",
    "format_answer",
]

#: Deepest nesting of objects and lists a request body may have. A rerank request needs
#: three levels (body, documents, a document object); metadata inside documents gets the
#: rest. Deeper bodies cost recursion in every later step (and overflow the parser's).
MAX_JSON_DEPTH = 32
#: A `\uD800`-`\uDFFF` escape: a body without one cannot decode to a surrogate.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")

Shape = Literal["rerank", "cohere_v1", "cohere_v2", "nim"]


@dataclass(frozen=True, slots=True)
class RequestField:
    """One top-level field of a request body: the parser accepts exactly these (plus
    provider parameters), and the OpenAPI document is generated from them."""

    name: str
    #: The field's JSON schema, given the configured limits.
    schema: Callable[[Limits], dict[str, Any]]
    required: bool = False
    #: A provider parameter shown for clients (`truncate` for NIM): passed on to the
    #: provider and checked there (`params.py`), not one of the shape's own fields.
    provider_param: bool = False

    def schema_for(self, limits: Limits) -> dict[str, Any]:
        """The JSON schema with `limits` applied."""
        return self.schema(limits)


def _document(limits: Limits) -> dict[str, Any]:
    text = {"type": "string", "maxLength": limits.max_document_chars}
    return {"oneOf": [text, {"type": "object", "properties": {"text": text}, "required": ["text"]}]}


def _model(limits: Limits) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "description": "A name from /v1/models"}


COHERE_REQUEST: tuple[RequestField, ...] = (
    RequestField("model", _model, required=True),
    RequestField(
        "query",
        lambda limits: {"type": "string", "minLength": 1, "maxLength": limits.max_query_chars},
        required=True,
    ),
    RequestField(
        "documents",
        lambda limits: {
            "type": "array",
            "minItems": 1,
            "maxItems": limits.max_documents,
            "items": _document(limits),
        },
        required=True,
    ),
    RequestField("top_n", lambda _: {"type": ["integer", "null"], "minimum": 1}),
    RequestField("return_documents", lambda _: {"type": ["boolean", "null"]}),
    RequestField(
        "rank_fields",
        lambda _: {"type": ["array", "null"], "items": {"type": "string"}, "minItems": 1},
    ),
    RequestField("params", lambda _: {"type": ["object", "null"]}),
    # Cohere's client fields: accepted, dropped before anything else sees them.
    RequestField("metadata", lambda _: {"type": ["object", "null"]}),
    RequestField("user", lambda _: {"type": ["string", "null"]}),
    # Cohere's parameters: passed to the providers that take them (see the module doc).
    RequestField(
        "max_tokens_per_doc",
        lambda _: {"type": ["integer", "null"], "minimum": 1},
        provider_param=True,
    ),
    RequestField(
        "max_chunks_per_doc",
        lambda _: {"type": ["integer", "null"], "minimum": 1},
        provider_param=True,
    ),
    RequestField(
        "priority", lambda _: {"type": ["integer", "null"], "minimum": 0}, provider_param=True
    ),
)
NIM_REQUEST: tuple[RequestField, ...] = (
    RequestField("model", _model, required=True),
    RequestField(
        "query",
        lambda limits: {
            "type": "object",
            "properties": {
                "text": {"type": "string", "minLength": 1, "maxLength": limits.max_query_chars}
            },
            "required": ["text"],
        },
        required=True,
    ),
    RequestField(
        "passages",
        lambda limits: {
            "type": "array",
            "minItems": 1,
            "maxItems": limits.max_documents,
            "items": {
                "type": "object",
                "properties": {"text": {"type": "string", "maxLength": limits.max_document_chars}},
                "required": ["text"],
            },
        },
        required=True,
    ),
    RequestField(
        "truncate",
        lambda _: {"type": ["string", "null"], "enum": ["NONE", "END", None]},
        provider_param=True,
    ),
)
_COHERE_FIELDS = frozenset(f.name for f in COHERE_REQUEST if not f.provider_param)
_NIM_FIELDS = frozenset(f.name for f in NIM_REQUEST if not f.provider_param)
#: Cohere fields that change the answer: passed to providers that take them, refused (422)
#: for the rest rather than silently ignored.
_REFUSED_UNLESS_TAKEN = {
    "max_tokens_per_doc": "cohere/ (v2), azure_ai/ Cohere v2 models and bedrock/ take it",
    "max_chunks_per_doc": "cohere/v1/ models take it",
}
#: Cohere fields that do not change the answer: passed to providers that take them,
#: dropped for the rest.
_DROPPED_UNLESS_TAKEN = frozenset({"priority"})
#: Whether results carry their documents when the caller does not say.
_RETURN_DOCUMENTS_DEFAULT: dict[Shape, bool] = {
    "rerank": True,
    "cohere_v1": False,
    "cohere_v2": False,
    "nim": False,
}


@dataclass(slots=True)
class RerankCall:
    """One caller's request, in the proxy's own terms."""

    shape: Shape
    model: str
    query: str
    #: The documents as sent (strings or objects), returned with results when asked.
    documents: list[Any]
    #: The text ranked for each document.
    texts: list[str]
    top_n: int | None = None
    return_documents: bool = False
    #: Fields left over: provider parameters, checked against the model's provider.
    params: dict[str, Any] = field(default_factory=dict)


def _invalid(message: str, code: str = "invalid_field") -> ApiError:
    return ApiError(422, "invalid_request_error", message, code=code)


def _too_much(message: str, code: str) -> ApiError:
    return ApiError(400, "invalid_request_error", message, code=code)


def load_json(body: bytes) -> dict[str, Any]:
    """The request body as a JSON object; raise `ApiError` when it is not one.

    Also refused (400): nesting deeper than `MAX_JSON_DEPTH` and lone surrogates.

    orjson reads it (twice as fast as the standard library, and it refuses by itself
    what the checks below look for in the raw bytes: lone surrogates, NaN, Infinity,
    1e999); whatever orjson refuses or may have read differently (an integer beyond 64
    bits, which it makes a float) is read again by the standard library, whose answer,
    error message included, is the one given, as before.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _load_stdlib(body)
    if type(data) is not dict or not _plain(data, 1):
        return _load_stdlib(body)  # its error, or its reading of a number or the nesting
    return data


#: The smallest magnitude of a float orjson makes from an integer beyond 64 bits.
_BEYOND_64_BITS = float(2**63)


def _plain(value: Any, depth: int) -> bool:
    """Whether `value`, at `depth`, nests at most `MAX_JSON_DEPTH` levels and holds no
    float that may be orjson's reading of an integer beyond 64 bits."""
    item: Any
    for item in value.values() if type(value) is dict else value:
        kind = type(item)
        if kind is str:
            continue
        if kind is dict or kind is list:
            if depth >= MAX_JSON_DEPTH or not _plain(item, depth + 1):
                return False
        elif kind is float and abs(item) >= _BEYOND_64_BITS:
            return False
    return True


def _load_stdlib(body: bytes) -> dict[str, Any]:
    """`load_json` with the standard library's parser."""
    try:
        data = json.loads(body, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:  # the parser's own stack ran out, long past our limit
        raise _too_deep() from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            400, "invalid_request_error", f"The body is not valid JSON: {exc}.", code="invalid_json"
        ) from None
    if not isinstance(data, dict):
        raise _invalid(f"The body must be a JSON object, got {_kind(data)}.")
    # Walk the tree only when the raw bytes say it may be needed: most bodies have fewer
    # brackets than the depth limit and no surrogate escape.
    surrogates = b"\\u" in body and _SURROGATE_ESCAPE.search(body) is not None
    if surrogates or body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH:
        _check_tree(data, surrogates)
    return data


def _no_constant(name: str) -> Any:
    # Python's parser accepts NaN and Infinity, which are not JSON and could not be
    # written back in an answer (a document object is echoed as sent).
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise ValueError(f"the number {text[:24]} is out of range")
    return value


def _check_tree(data: Any, surrogates: bool) -> None:
    """Refuse nesting past `MAX_JSON_DEPTH` and (if `surrogates`) lone surrogates."""
    stack: list[tuple[Any, int, tuple[str | int, ...]]] = [(data, 1, ())]
    while stack:
        value, depth, path = stack.pop()
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if surrogates and isinstance(key, str):
                _check_text(key, (*path, key), "a key")
            if isinstance(item, dict | list):
                stack.append((item, depth + 1, (*path, key)))
            elif surrogates and isinstance(item, str):
                _check_text(item, (*path, key), "the string")


def _check_text(text: str, path: tuple[str | int, ...], what: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        where = "".join(
            f"[{p}]" if isinstance(p, int) else f".{_shown(p)}" if i else _shown(p)
            for i, p in enumerate(path)
        )
        raise ApiError(
            400,
            "invalid_request_error",
            f"{what.capitalize()} at {where} holds a lone surrogate (U+{ord(text[exc.start]):04X})"
            ", which is not text. Send valid Unicode: escape a character above U+FFFF as a "
            "surrogate pair, or send it as UTF-8.",
            code="invalid_unicode",
        ) from None


def _shown(key: str) -> str:
    """A key, short and encodable, for a message (it may be the offending string)."""
    return key[:40].encode("utf-8", "backslashreplace").decode()


def _too_deep() -> ApiError:
    return ApiError(
        400,
        "invalid_request_error",
        f"The body nests objects and lists more than {MAX_JSON_DEPTH} levels deep; "
        f"the limit is {MAX_JSON_DEPTH}. Flatten the document objects.",
        code="json_too_deep",
    )


def parse_call(shape: Shape, data: dict[str, Any], limits: Limits) -> RerankCall:
    """Check a request body's fields; raise `ApiError` saying what to fix."""
    model = data.get("model")
    if not isinstance(model, str) or not model:
        raise _invalid("'model' is required: a model name from GET /v1/models.", "missing_model")
    if shape == "nim":
        return _parse_nim(data, model, limits)
    return _parse_cohere(shape, data, model, limits)


def _parse_cohere(shape: Shape, data: dict[str, Any], model: str, limits: Limits) -> RerankCall:
    query = _query(data.get("query"), limits)
    documents = data.get("documents")
    if not isinstance(documents, list) or not documents:
        raise _invalid("'documents' must be a non-empty list of strings or objects.")
    _count(len(documents), limits)
    rank_fields = data.get("rank_fields")
    if rank_fields is not None and (
        not isinstance(rank_fields, list)
        or not rank_fields
        or not all(isinstance(f, str) for f in rank_fields)
    ):
        raise _invalid("'rank_fields' must be a non-empty list of field names.")
    if rank_fields is None and all(type(doc) is str for doc in documents):
        # The common case, checked at C speed: plain strings within the length limit.
        texts = documents
        if max(map(len, documents)) > limits.max_document_chars:
            for i, doc in enumerate(documents):
                _length(i, doc, limits)
    else:
        texts = [_text(i, doc, rank_fields, limits) for i, doc in enumerate(documents)]
    return_documents = data.get("return_documents", _RETURN_DOCUMENTS_DEFAULT[shape])
    if return_documents is None:
        return_documents = _RETURN_DOCUMENTS_DEFAULT[shape]
    if not isinstance(return_documents, bool):
        raise _invalid("'return_documents' must be true or false.")
    # null means "not sent", for provider parameters as for the shape's own fields.
    params = {k: v for k, v in data.items() if k not in _COHERE_FIELDS and v is not None}
    nested = data.get("params")
    if nested is not None:
        if not isinstance(nested, dict):
            raise _invalid("'params' must be an object of provider parameters.")
        params.update((k, v) for k, v in nested.items() if v is not None)
    return RerankCall(
        shape,
        model,
        query,
        documents,
        texts,
        _top_n(data.get("top_n")),
        return_documents,
        params,
    )


def _parse_nim(data: dict[str, Any], model: str, limits: Limits) -> RerankCall:
    query = data.get("query")
    if not isinstance(query, dict) or set(query) != {"text"}:
        raise _invalid('\'query\' must be an object {"text": "..."}.')
    text = _query(query["text"], limits)
    passages = data.get("passages")
    if not isinstance(passages, list) or not passages:
        raise _invalid('\'passages\' must be a non-empty list of {"text": "..."} objects.')
    _count(len(passages), limits)
    texts = []
    for i, passage in enumerate(passages):
        if not isinstance(passage, dict) or not isinstance(passage.get("text"), str):
            raise _invalid(f"passages[{i}] must be an object with a string 'text'.")
        texts.append(_length(i, passage["text"], limits))
    params = {k: v for k, v in data.items() if k not in _NIM_FIELDS and v is not None}
    return RerankCall("nim", model, text, passages, texts, None, False, params)


def check_params(call: RerankCall, accepted: ProviderParams) -> None:
    """Refuse any field that is not a parameter the model's provider accepts (422).

    Cohere's `priority` is dropped from `call.params` when the provider does not take it.
    """
    if not call.params:
        return  # nothing to check (most calls)
    for name in _DROPPED_UNLESS_TAKEN:
        if name in call.params and name not in accepted.specs:
            value = call.params.pop(name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _invalid(f"'{name}' must be a whole number >= 0.")
    for name, advice in _REFUSED_UNLESS_TAKEN.items():
        if name in call.params and name not in accepted.specs:
            raise _invalid(
                f"'{name}' is not supported by the provider of model {call.model!r}, and "
                f"ignoring it would change the answer; {advice}. Leave it out (or null), or "
                "use this provider's own truncation parameter if it has one "
                f"({', '.join(accepted.names()) or 'none'}).",
                "unsupported",
            )
    unknown = accepted.unknown(call.params)
    if unknown is not None:
        base = _NIM_FIELDS if call.shape == "nim" else _COHERE_FIELDS - {"params"}
        allowed = ", ".join([*sorted(base), *accepted.names()])
        raise _invalid(
            f"Unknown field {unknown!r} for model {call.model!r}. Accepted fields: {allowed}.",
            "unknown_field",
        )
    try:
        accepted.check(call.params)
    except ValueError as exc:
        raise _invalid(str(exc)) from None


def _query(value: Any, limits: Limits) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _invalid("'query' must be a non-empty string.")
    if len(value) > limits.max_query_chars:
        raise _too_much(
            f"The query has {len(value)} characters; the limit is {limits.max_query_chars}.",
            "query_too_long",
        )
    return value


def _count(n: int, limits: Limits) -> None:
    if n > limits.max_documents:
        raise _too_much(
            f"{n} documents exceed the limit of {limits.max_documents} per request; split them.",
            "too_many_documents",
        )


def _text(i: int, doc: Any, rank_fields: list[str] | None, limits: Limits) -> str:
    if isinstance(doc, str):
        return _length(i, doc, limits)
    if not isinstance(doc, dict):
        raise _invalid(f"documents[{i}] must be a string or an object, got {_kind(doc)}.")
    if rank_fields is None:
        text = doc.get("text")
        if not isinstance(text, str):
            raise _invalid(
                f"documents[{i}] has no string 'text'; add one or name fields in rank_fields."
            )
        return _length(i, text, limits)
    parts = []
    for name in rank_fields:
        value = doc.get(name)
        if value is not None:
            parts.append(f"{name}: {value if isinstance(value, str) else json.dumps(value)}")
    return _length(i, "\n".join(parts), limits)


def _length(i: int, text: str, limits: Limits) -> str:
    if len(text) > limits.max_document_chars:
        raise _too_much(
            f"documents[{i}] has {len(text)} characters; the limit is {limits.max_document_chars}.",
            "document_too_long",
        )
    return text


def _top_n(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise _invalid("'top_n' must be a whole number >= 1.")
    return value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def format_answer(call: RerankCall, answer: RerankAnswer, model_name: str) -> dict[str, Any]:
    """The answer in the caller's shape."""
    scores = answer.scores
    if call.shape == "nim":
        return {"rankings": [{"index": i, "logit": score} for i, score in scores]}
    if call.return_documents:
        documents = call.documents
        items = [
            {"index": i, "relevance_score": score, "document": _as_object(documents[i])}
            for i, score in scores
        ]
    else:
        items = [{"index": i, "relevance_score": score} for i, score in scores]
    version = "2" if call.shape == "cohere_v2" else "1"
    given = answer.meta
    meta: dict[str, Any] = {
        "api_version": {"version": version},
        "provider": given["provider"],
        "score_kind": given["score_kind"],
    }
    usage = given.get("usage")
    if usage:
        meta["usage"] = usage
    if given.get("cached"):
        meta["cached"] = True
    return {"id": answer.id, "model": model_name, "results": items, "meta": meta}


def _as_object(document: Any) -> Any:
    return {"text": document} if isinstance(document, str) else document
