"""The proxy's log lines: plain text (the default) or one JSON object per line.

Both formats carry the id of the request being served (`request_id.REQUEST_ID`) on every
line logged while serving it: the access line, the router's, a plugin's. Text lines end
with ` request_id=<id>`; JSON lines have the keys `time` (ISO 8601, UTC, milliseconds),
`level`, `logger`, `message`, `request_id` (when known) and `exception` (a traceback, when
one is logged). Log messages never contain keys or document text; the formatters add
nothing but the id, which `request_id.accepted_id` keeps to a safe character set.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Literal

from .request_id import REQUEST_ID

__all__ = ["LogFormat", "LOG_FORMATS", "TextFormatter", "JsonFormatter", "configure_logging"]

LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[LogFormat, ...] = ("text", "json")
LOG_LEVELS = ("debug", "info", "warning", "error")


class TextFormatter(logging.Formatter):
    """`time level logger message`, then ` request_id=<id>` while a request is served."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = REQUEST_ID.get()
        if request_id is None:
            return line
        # After the message's first line, so a traceback below it stays intact.
        first, newline, rest = line.partition("\n")
        return f"{first} request_id={request_id}{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    """Log to stderr at `level` in `log_format`, for the proxy and uvicorn alike."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # httpx logs every upstream request at INFO: the access line already says it all.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
