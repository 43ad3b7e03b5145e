"""JSON for the hot path: request bodies encoded once, answers decoded, orjson when present.

Encoding a 20-document NIM body with the standard library costs about as much as the
rest of rerankit's own work on a call (docs/benchmarks.md, "Where the SDK's per-call time
goes"), and the HTTP libraries would each encode it again their own way. So the senders
send `encode(request.json)` as bytes, and `wire.HttpResponse.json()` decodes with
`decode`. With orjson installed (`pip install 'rerankit[fast]'`) both take a fraction of
the time; without it the standard library does the same job.

The results are the standard library's, whichever does the work:

- `encode` writes compact UTF-8 JSON, as httpx's `json=` does; a value orjson cannot
  encode (a dict with non-string keys, an integer wider than 64 bits) is handed to the
  standard library. NaN and infinities cannot reach a body: the core refuses them in
  every parameter (`Param.validate`) and documents are text.
- `decode` parses anything `json.loads` parses: a body orjson refuses (`NaN`, `1e999`,
  a lone surrogate escape, UTF-16) is parsed again by the standard library, so an upstream
  sending such values meets the same checks as before. The one difference: an integer
  wider than 64 bits comes back as a float from orjson.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["encode", "decode", "FAST"]

try:  # an optional speed-up (rerankit[fast]); never required
    import orjson
except ImportError:  # pragma: no cover - exercised by the no-orjson test in a subprocess
    orjson = None  # type: ignore[assignment]

#: True when orjson does the work.
FAST = orjson is not None

_std_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _std_encode(value: Any) -> bytes:
    return _std_encoder.encode(value).encode("utf-8")


if orjson is not None:
    _fast_dumps = orjson.dumps
    _fast_loads = orjson.loads
    _FastError = orjson.JSONDecodeError
    _EncodeError = orjson.JSONEncodeError

    def encode(value: Any) -> bytes:
        """`value` as compact UTF-8 JSON bytes."""
        try:
            return _fast_dumps(value)
        except _EncodeError:
            return _std_encode(value)  # what orjson does not take, the standard library may

    def decode(data: bytes | str) -> Any:
        """Parse JSON as `json.loads` does; `ValueError` when it is not JSON."""
        try:
            return _fast_loads(data)
        except _FastError:
            return json.loads(data)

else:  # pragma: no cover - exercised by the no-orjson test in a subprocess
    encode = _std_encode

    def decode(data: bytes | str) -> Any:
        """Parse JSON as `json.loads` does; `ValueError` when it is not JSON."""
        return json.loads(data)
