"""Reading the `rerankit rerank` command's documents from a file or standard input.

Index rule, for every format: `index` i is line i + 1 of the input (the first JSON value
of a `json` list is index 0). Blank lines of a plain file are kept as empty documents
rather than dropped, so indices never drift from line numbers; in JSON Lines only
trailing blank lines are allowed.

Every problem is a `CliInputError` that names the file, the line and what to do.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Mapping
from typing import Any, BinaryIO

from .errors import InvalidRequestError

__all__ = ["FORMATS", "MAX_INPUT_BYTES", "CliInputError", "read_documents"]

#: Input formats: one document per line, one JSON value per line, one JSON list.
FORMATS = ("lines", "jsonl", "json")
#: Largest input read (bytes): a bigger file is refused rather than read into memory.
MAX_INPUT_BYTES = 256 * 1024 * 1024


class CliInputError(InvalidRequestError):
    """The command's document input cannot be read as asked."""


def read_documents(
    stream: BinaryIO,
    *,
    name: str,
    encoding: str = "utf-8",
    input_format: str = "lines",
    field: str = "text",
    limit: int = MAX_INPUT_BYTES,
) -> list[str | dict[str, Any]]:
    """The documents in `stream` (named `name` in messages), decoded with `encoding`."""
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise CliInputError(
            f"unknown encoding {encoding!r}: use a Python codec name such as utf-8, "
            f"utf-16, latin-1 or cp1252."
        ) from None
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise CliInputError(f"{name} is larger than {limit:,} bytes: split it into several calls.")
    text = _decode(data, name=name, encoding=encoding)
    if input_format == "lines":
        return list(_lines(text))
    if input_format == "jsonl":
        return _json_lines(text, name=name, field=field)
    return _json_list(text, name=name, field=field)


def _decode(data: bytes, *, name: str, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CliInputError(
            f"{name} is not valid {encoding}: byte {data[exc.start]:#04x} on line {line} "
            f"cannot be decoded. Pass the file's encoding with --encoding (e.g. "
            f"--encoding latin-1, --encoding cp1252 or --encoding utf-16)."
        ) from None
    return text.removeprefix("\ufeff")  # a byte-order mark is not part of the first line


def _lines(text: str) -> list[str]:
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the newline that ends the last line opens no new document
    return [line.removesuffix("\r") for line in lines]


def _json_lines(text: str, *, name: str, field: str) -> list[str | dict[str, Any]]:
    lines = _lines(text)
    while lines and not lines[-1].strip():
        lines.pop()
    documents: list[str | dict[str, Any]] = []
    for number, line in enumerate(lines, 1):
        where = f"{name}, line {number}"
        if not line.strip():
            raise CliInputError(
                f"{where} is blank: JSON Lines need one JSON value per line (a blank line "
                f"would shift every later index away from its line number)."
            )
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CliInputError(f"{where} is not JSON ({exc.msg}).") from None
        except (ValueError, RecursionError):  # an over-long number, nesting too deep
            raise CliInputError(f"{where} is JSON too large or too deep to read.") from None
        documents.append(_document(value, where=where, field=field))
    return documents


def _json_list(text: str, *, name: str, field: str) -> list[str | dict[str, Any]]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliInputError(f"{name} is not JSON ({exc.msg} at line {exc.lineno}).") from None
    except (ValueError, RecursionError):  # an over-long number, nesting too deep
        raise CliInputError(f"{name} is JSON too large or too deep to read.") from None
    if not isinstance(value, list):
        raise CliInputError(
            f"{name} holds a JSON {type(value).__name__}, not a list: --input-format json "
            f"reads a list of strings or objects (use --jsonl for one value per line)."
        )
    return [_document(v, where=f"{name}, item {i}", field=field) for i, v in enumerate(value)]


def _document(value: object, *, where: str, field: str) -> str | dict[str, Any]:
    """A string is the text; an object gives its text in `field` and keeps its fields."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        text = value.get(field)
        if not isinstance(text, str):
            found = ", ".join(sorted(map(str, value))) or "none"
            raise CliInputError(
                f"{where} has no string field {field!r} (its fields: {found}); choose the "
                f"text field with --field NAME."
            )
        return {**value, "text": text}
    raise CliInputError(
        f"{where} is a JSON {type(value).__name__}: each document must be a string or an "
        f"object with a {field!r} text field."
    )
