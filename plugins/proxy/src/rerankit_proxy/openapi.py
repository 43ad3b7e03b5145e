"""The proxy's OpenAPI 3.1 document (served at `/openapi.json`), generated.

Nothing here is a second description of the API: the paths, methods and access come from
the route table (`endpoints.ROUTES`), the request bodies from the field definitions the
parser checks against (`protocol.COHERE_REQUEST`, `protocol.NIM_REQUEST`), and their size
bounds from the configured `limits`. Only the answers' shapes and the error statuses are
written here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .asgi import Route
from .config import Limits
from .protocol import COHERE_REQUEST, NIM_REQUEST, RequestField

__all__ = ["openapi_document"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "Invalid JSON or a value outside the limits"),
    "401": _json(_ref("Error"), "Missing or wrong key"),
    "403": _json(_ref("Error"), "The key may not call this model or route"),
    "404": _json(_ref("Error"), "No such model"),
    "413": _json(_ref("Error"), "Body too large"),
    "422": _json(_ref("Error"), "The body does not match the schema"),
    "429": _json(_ref("Error"), "Rate-limited (the key's or the upstream's); see Retry-After"),
    "502": _json(_ref("Error"), "Every upstream attempt failed"),
    "503": _json(_ref("Error"), "The proxy is starting or stopping"),
    "504": _json(_ref("Error"), "Deadline exceeded"),
}

#: The answers' shapes (what `protocol.format_answer` and the handlers write).
_ANSWERS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "properties": {
            "error": {
                "type": "object",
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "code": {"type": "string"},
                },
                "required": ["message", "type", "code"],
            }
        },
        "required": ["error"],
    },
    "RerankResponse": {
        "type": "object",
        "properties": {
            "id": {"type": ["string", "null"]},
            "model": {"type": "string"},
            "results": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "index": {"type": "integer"},
                        "relevance_score": {"type": "number"},
                        "document": {"type": "object"},
                    },
                    "required": ["index", "relevance_score"],
                },
            },
            "meta": {"type": "object"},
        },
        "required": ["results"],
    },
    "RankingResponse": {
        "type": "object",
        "properties": {
            "rankings": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"index": {"type": "integer"}, "logit": {"type": "number"}},
                    "required": ["index", "logit"],
                },
            }
        },
        "required": ["rankings"],
    },
    "ModelList": {
        "type": "object",
        "properties": {
            "object": {"const": "list"},
            "data": {
                "type": "array",
                "items": {"type": "object", "properties": {"id": {"type": "string"}}},
            },
        },
        "required": ["data"],
    },
    "Object": {"type": "object"},
}


def _request(fields: Sequence[RequestField], limits: Limits, description: str) -> dict[str, Any]:
    """A request body's schema from the parser's field definitions, with `limits` applied."""
    return {
        "type": "object",
        "description": description,
        "properties": {f.name: f.schema_for(limits) for f in fields},
        "required": [f.name for f in fields if f.required],
    }


def _operation(route: Route, operation_id: str) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": route.summary, "operationId": operation_id}
    answer = (
        {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}
        if route.answer == "text"
        else _json(_ref(route.answer), "OK")
    )
    if route.request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(route.request)}},
        }
        operation["responses"] = {"200": answer, **_ERRORS}
    elif route.access == "public":
        operation["security"] = []
        operation["responses"] = {"200": answer, "503": _ERRORS["503"]}
    else:
        operation["responses"] = {"200": answer, "401": _ERRORS["401"], "403": _ERRORS["403"]}
    return {route.method.lower(): operation}


def openapi_document(routes: Mapping[str, Route], limits: Limits) -> dict[str, Any]:
    """The OpenAPI document describing every route of `routes`."""
    from importlib.metadata import version

    schemas = {
        **_ANSWERS,
        "RerankRequest": _request(
            COHERE_REQUEST,
            limits,
            "Cohere-style request. Provider parameters (e.g. truncate) may be added at the "
            "top level or in `params`; nothing else is accepted.",
        ),
        "RankingRequest": _request(
            NIM_REQUEST,
            limits,
            "NVIDIA NIM ranking request. Provider parameters (e.g. truncate) may be added at "
            "the top level; nothing else is accepted.",
        ),
    }
    paths: dict[str, Any] = {}
    seen: dict[str, int] = {}
    for path, route in routes.items():
        seen[route.name] = seen.get(route.name, 0) + 1
        n = seen[route.name]
        paths[path] = _operation(route, route.name if n == 1 else f"{route.name}_{n}")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "rerankit proxy",
            "version": version("rerankit-proxy"),
            "description": "Cohere- and NIM-compatible rerank gateway. Send "
            "'Authorization: Bearer <key>'.",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
