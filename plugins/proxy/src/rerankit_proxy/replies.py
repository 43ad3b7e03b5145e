"""What the proxy answers: JSON bodies and the one error shape.

Every error is `{"error": {"message", "type", "code"}}` with a fitting status; `ApiError`
carries one from wherever it is raised to the ASGI app, which writes it.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["ApiError", "dumps", "error_body"]

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return _encoder.encode(value).encode()


class ApiError(Exception):
    """An error answer: HTTP status, error type, machine-readable code and a message."""

    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        *,
        code: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        self.status = status
        self.type = type
        self.code = code or type
        self.message = message
        self.headers = headers or []
        super().__init__(message)

    def body(self) -> bytes:
        """The JSON error body."""
        return error_body(self.message, self.type, self.code)


def error_body(message: str, type: str, code: str) -> bytes:
    """`{"error": {"message", "type", "code"}}` as bytes."""
    return dumps({"error": {"message": message, "type": type, "code": code}})
