"""Connection-level limits: what the HTTP server enforces before the app sees a request.

`server_settings` in the config file, each also a `rerankit serve` flag (the flag wins):

```yaml
server_settings:
  max_header_bytes: 65536      # request line + headers; 431 above
  max_headers: 100             # header fields; 431 above
  header_timeout: 10           # seconds to send the whole head; 408 after
  body_timeout: 60             # seconds to send the whole body; 408 after
  max_connections: 1024        # open connections per worker; more are answered 503 and closed
  graceful_shutdown_timeout: 30  # seconds in-flight requests get after SIGTERM
```

The header limits and the connection cap are enforced by `http_guard` (the HTTP protocol
under the app), the body timeout by the app's body reader, the graceful timeout by uvicorn.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from rerankit.errors import ConfigurationError

__all__ = ["ServerSettings", "MINIMUM", "setting_problem"]


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """Bounds on one connection's head, body and life, and on how many are open at once."""

    #: Bytes of request line and headers (Envoy's default: 60 KiB; nginx: 4 buffers of 8 KiB).
    max_header_bytes: int = 64 * 1024
    #: Header fields in one request (Envoy's default: 100).
    max_headers: int = 100
    #: Seconds from a connection's (or a request's) first byte to the end of its headers.
    header_timeout: float = 10.0
    #: Seconds from the end of the headers to the end of the body.
    body_timeout: float = 60.0
    #: Open connections per worker process, idle keep-alive ones included.
    max_connections: int = 1024
    #: Seconds requests in flight get to finish after SIGTERM; the rest are answered 503.
    graceful_shutdown_timeout: float = 30.0

    def merged(self, overrides: dict[str, Any]) -> ServerSettings:
        """These settings with the non-None `overrides` (command-line flags) applied.

        Raises `ConfigurationError` naming the flag when a value is out of range.
        """
        given = {name: value for name, value in overrides.items() if value is not None}
        for name, value in given.items():
            problem = setting_problem(name, value)
            if problem:
                flag = "--" + name.replace("_", "-")
                raise ConfigurationError(f"{flag}: {problem} (got {value!r}).")
        return replace(self, **given) if given else self

    def to_json(self) -> str:
        """The settings as JSON, to hand them to worker processes."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServerSettings:
        """The settings `to_json` wrote."""
        return cls(**json.loads(text))


#: Which settings are whole numbers, and the smallest value each accepts.
MINIMUM: dict[str, tuple[bool, float]] = {
    "max_header_bytes": (True, 1024),
    "max_headers": (True, 8),
    "header_timeout": (False, 0.01),
    "body_timeout": (False, 0.01),
    "max_connections": (True, 1),
    "graceful_shutdown_timeout": (False, 0),
}


def setting_problem(name: str, value: Any) -> str | None:
    """What is wrong with `value` for the setting `name`, or None."""
    integer, minimum = MINIMUM[name]
    kind = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int if integer else int | float):
        return f"must be {kind}"
    if not math.isfinite(value) or value < minimum:  # NaN compares false: caught here
        return f"must be {kind} >= {minimum:g}"
    return None
