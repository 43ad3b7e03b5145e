"""Reading an upstream answer's body within a size limit, decompressing as it arrives.

An upstream decides how large its answer is, and a compressed answer can expand a
thousandfold (a 200 KB gzip body to 200 MB). Every transport of both clients therefore
reads the raw bytes through a `BodyReader`, which

- refuses a declared `Content-Length` above the limit before reading any of the body;
- decompresses gzip and deflate itself, a bounded piece at a time (zlib's `max_length`),
  and stops as soon as the decoded size passes the limit, so memory never grows past
  the limit however far the body would expand;
- raises `ResponseTooLarge`, an `httpx.DecodingError`, so the clients map it to an
  `InvalidResponseError` with every other undecodable answer.

The clients rerankit creates ask for `Accept-Encoding: gzip, deflate`, the encodings
decoded here; an answer in an encoding that was not asked for (`br`, `zstd`) is refused.
An identity body with a `Content-Length` within the limit takes the transport's own
one-shot read: the common case pays nothing for the check.
"""

from __future__ import annotations

import zlib

import httpx

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "BodyReader",
    "ResponseTooLarge",
    "check_max_response_bytes",
    "read_content",
]

#: Largest decoded upstream answer a client accepts unless told otherwise: a rerank answer
#: is a few bytes per document, so this is generous (a million results fit in a tenth).
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: What the clients rerankit creates ask for: the encodings `BodyReader` decodes.
ACCEPT_ENCODING = "gzip, deflate"

_IDENTITY = frozenset({"", "identity"})
_GZIP = frozenset({"gzip", "x-gzip"})
#: Encodings httpx or aiohttp might have asked for on a caller's own client; refused
#: by name rather than parsed as garbage. Unknown names are passed through, as httpx does.
_UNDECODED = frozenset({"br", "zstd", "compress", "x-compress"})


class ResponseTooLarge(httpx.DecodingError):
    """The answer is larger than the client's `max_response_bytes`."""

    def __init__(self, limit: int, declared: int | None = None) -> None:
        self.limit = limit
        self.declared = declared
        said = f" (its Content-Length says {declared})" if declared is not None else ""
        super().__init__(f"the answer is larger than max_response_bytes={limit}{said}")


def check_max_response_bytes(value: object) -> int:
    """`max_response_bytes` if it is a whole number >= 1; else `InvalidParameterError`."""
    from .errors import InvalidParameterError

    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidParameterError(
            f"max_response_bytes must be a whole number of bytes >= 1, got {value!r}.",
            parameter="max_response_bytes",
        )
    return value


class _Inflater:
    """One zlib layer (gzip or deflate) that never emits more than its budget."""

    __slots__ = ("_raw_fallback", "_started", "_z")

    def __init__(self, encoding: str) -> None:
        gzip = encoding in _GZIP
        self._z = zlib.decompressobj(zlib.MAX_WBITS | 16 if gzip else zlib.MAX_WBITS)
        # "deflate" should be zlib-wrapped, but some servers send raw deflate (httpx and
        # browsers accept both): try the wrapper first, raw on a first-block error.
        self._raw_fallback = not gzip
        self._started = False

    def decode(self, data: bytes, budget: int) -> bytes:
        """Decompress `data`; `ResponseTooLarge` is the caller's once it passes `budget`.

        Output is capped at `budget + 1` bytes: getting that many means "too large",
        and anything short of it means zlib consumed every byte it was given.
        """
        try:
            out = self._z.decompress(data, budget + 1)
        except zlib.error as exc:
            if self._raw_fallback and not self._started:
                self._raw_fallback = False
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(data, budget)
            raise httpx.DecodingError(f"the compressed body is corrupt ({exc})") from None
        self._started = True
        return out

    def flush(self) -> bytes:
        try:
            return self._z.flush()
        except zlib.error as exc:  # pragma: no cover - zlib's flush rarely fails
            raise httpx.DecodingError(f"the compressed body is corrupt ({exc})") from None


class BodyReader:
    """Collects one answer's body, decoded, refusing more than `limit` bytes.

    Build it with `BodyReader.open(...)`, which returns None when the transport may read
    the body in one go (identity, declared length within the limit).
    """

    __slots__ = ("_layers", "_pieces", "_size", "limit")

    def __init__(self, limit: int, layers: list[_Inflater]) -> None:
        self.limit = limit
        self._size = 0
        self._pieces: list[bytes] = []
        self._layers = layers

    @classmethod
    def open(
        cls, limit: int, content_length: str | None, content_encoding: str | None
    ) -> BodyReader | None:
        """A reader for an answer with these headers; None when one read is safe.

        Raises `ResponseTooLarge` at once when the declared length is over the limit
        (for a compressed body that is the compressed length: the decoded one is larger).
        """
        declared = _length(content_length)
        if declared is not None and declared > limit:
            raise ResponseTooLarge(limit, declared)
        encodings = _encodings(content_encoding)
        if not encodings and declared is not None:
            return None
        # Content-Encoding lists the codings in the order they were applied.
        return cls(limit, [_Inflater(e) for e in reversed(encodings)])

    def feed(self, raw: bytes) -> None:
        """Add one piece of the raw body as it came off the wire."""
        data = raw
        last = len(self._layers) - 1
        for position, layer in enumerate(self._layers):
            if not data:
                return
            if position == last:
                data = layer.decode(data, self.limit - self._size)
            else:
                # Still-compressed data in between: bounded by the limit as a whole, since
                # the decoded size it stands for is only known one layer further on.
                data = layer.decode(data, self.limit)
                if len(data) > self.limit:
                    self._pieces.clear()
                    raise ResponseTooLarge(self.limit)
        self._add(data)

    def finish(self) -> bytes:
        """The whole decoded body, once the raw body has been fed."""
        for position, layer in enumerate(self._layers):
            tail = layer.flush()
            for later in self._layers[position + 1 :]:
                if tail:
                    tail = later.decode(tail, self.limit)
            self._add(tail)
        pieces = self._pieces
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def _add(self, data: bytes) -> None:
        if data:
            self._size += len(data)
            if self._size > self.limit:
                self._pieces.clear()
                raise ResponseTooLarge(self.limit)
            self._pieces.append(data)


def read_content(content: bytes, limit: int) -> bytes:
    """A body already in memory (an in-process transport's answer), held to `limit`."""
    if len(content) > limit:
        raise ResponseTooLarge(limit)
    return content


def _length(value: str | None) -> int | None:
    if value is None:
        return None
    # Repeated headers arrive joined by ", "; any disagreement is the server's protocol
    # error, which the HTTP library reports itself. Take the largest to be safe.
    lengths = [v.strip() for v in value.split(",")]
    if not all(v.isdigit() for v in lengths):
        return None
    return max(int(v) for v in lengths)


def _encodings(value: str | None) -> list[str]:
    if not value:
        return []
    encodings: list[str] = []
    for token in value.split(","):
        name = token.strip().lower()
        if name in _IDENTITY:
            continue
        if name in _UNDECODED:
            raise httpx.DecodingError(
                f"the answer is {name}-encoded, which rerankit did not ask for (it decodes "
                f"{ACCEPT_ENCODING}); do not set another Accept-Encoding on http_client="
            )
        if name in _GZIP or name == "deflate":
            encodings.append(name)
        # Anything else is passed through undecoded, as httpx does.
    return encodings
