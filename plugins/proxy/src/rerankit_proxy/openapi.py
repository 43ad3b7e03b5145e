"""The proxy's OpenAPI 3.1 document, written out by hand (served at `/openapi.json`)."""

from __future__ import annotations

from functools import cache
from typing import Any

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

_DOCUMENT = {
    "oneOf": [
        {"type": "string"},
        {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    ]
}

_SCHEMAS: dict[str, Any] = {
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
    "RerankRequest": {
        "type": "object",
        "description": "Cohere-style request. Provider parameters (e.g. truncate) may be added "
        "at the top level or in `params`; nothing else is accepted.",
        "properties": {
            "model": {"type": "string", "minLength": 1, "description": "A name from /v1/models"},
            "query": {"type": "string", "minLength": 1},
            "documents": {"type": "array", "minItems": 1, "items": _DOCUMENT},
            "top_n": {"type": ["integer", "null"], "minimum": 1},
            "return_documents": {"type": ["boolean", "null"]},
            "rank_fields": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "params": {"type": "object"},
        },
        "required": ["model", "query", "documents"],
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
    "RankingRequest": {
        "type": "object",
        "description": "NVIDIA NIM ranking request.",
        "properties": {
            "model": {"type": "string", "minLength": 1},
            "query": {
                "type": "object",
                "properties": {"text": {"type": "string", "minLength": 1}},
                "required": ["text"],
            },
            "passages": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {"text": {"type": "string"}},
                    "required": ["text"],
                },
            },
            "truncate": {"type": "string", "enum": ["NONE", "END"]},
        },
        "required": ["model", "query", "passages"],
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
}


def _post(summary: str, request: str, response: str, op_id: str) -> dict[str, Any]:
    return {
        "post": {
            "summary": summary,
            "operationId": op_id,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _ref(request)}},
            },
            "responses": {"200": _json(_ref(response), "Ranked documents, best first"), **_ERRORS},
        }
    }


def _get(summary: str, op_id: str, body: dict[str, Any], *, public: bool = False) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "operationId": op_id,
        "responses": {"200": body, "401": _ERRORS["401"], "403": _ERRORS["403"]},
    }
    if public:
        operation["security"] = []
        operation["responses"] = {"200": body, "503": _json(_ref("Error"), "Not ready")}
    return {"get": operation}


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI document describing every route."""
    from rerankit import __version__

    anything = _json({"type": "object"}, "OK")
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "rerankit proxy",
            "version": __version__,
            "description": "Cohere- and NIM-compatible rerank gateway. Send "
            "'Authorization: Bearer <key>'.",
        },
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/rerank": _post("Rerank (Cohere-style)", "RerankRequest", "RerankResponse", "rerank"),
            "/v1/rerank": _post(
                "Rerank (Cohere v1)", "RerankRequest", "RerankResponse", "rerank_v1"
            ),
            "/v2/rerank": _post(
                "Rerank (Cohere v2)", "RerankRequest", "RerankResponse", "rerank_v2"
            ),
            "/v1/ranking": _post(
                "Rerank (NVIDIA NIM)", "RankingRequest", "RankingResponse", "ranking"
            ),
            "/v1/models": _get(
                "Models this key may call", "models", _json(_ref("ModelList"), "OK")
            ),
            "/models": _get(
                "Models this key may call", "models_alias", _json(_ref("ModelList"), "OK")
            ),
            "/health/liveliness": _get("Liveness", "liveliness", anything, public=True),
            "/health/readiness": _get("Readiness", "readiness", anything, public=True),
            "/health": _get("Call every deployment (master key)", "health", anything),
            "/metrics": _get(
                "Prometheus metrics (master key)",
                "metrics",
                {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}},
            ),
        },
    }
