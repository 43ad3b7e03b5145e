"""Redis through redis-py's sync client, with short timeouts and no retries.

The life-cycle hooks are plain functions called on the caller's thread: the event loop's
for `AsyncClient` and the proxy. A Redis round trip on a healthy local network takes well
under a millisecond, but a slow or unreachable Redis would hold the loop for as long as
the socket waits; so both the connect and the read timeouts are short (`timeout`, 50 ms
by default), redis-py's own retries are off, and `ResponseCache` stops asking a backend
that failed for `retry_after` seconds.
"""

from __future__ import annotations

from typing import Any

from rerankit.errors import ConfigurationError

__all__ = ["RedisBackend", "DEFAULT_TIMEOUT", "DEFAULT_PORT"]

#: Seconds to connect, and to wait for an answer, before a lookup counts as failed.
DEFAULT_TIMEOUT = 0.05
DEFAULT_PORT = 6379


class RedisBackend:
    """Entries in a Redis database, expiring with Redis's own TTL (`SET ... PX`).

    Built from parts rather than a URL so the password never sits in a string that could
    be shown; the connection is made on first use, so a Redis that is down at start-up
    does not stop the application (its calls go upstream until Redis is back).
    """

    def __init__(
        self,
        host: str = "localhost",
        port: int = DEFAULT_PORT,
        db: int = 0,
        *,
        username: str | None = None,
        password: str | None = None,
        ssl: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError:
            raise ConfigurationError(
                "The Redis cache needs redis-py: pip install 'rerankit-cache[redis]'."
            ) from None
        self.timeout = timeout
        self.description = f"redis ({'rediss' if ssl else 'redis'}://{host}:{port}/{db})"
        self._password = password
        self.client: Any = redis.Redis(
            host=host,
            port=port,
            db=db,
            username=username,
            password=password,
            ssl=ssl,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # redis-py retries 3 times by default: never wait
            health_check_interval=0,
        )

    def __repr__(self) -> str:
        return f"RedisBackend({self.description})"

    def get(self, key: str) -> bytes | None:
        """The value under `key` (`GET`), or None when absent or expired."""
        value = self.client.get(key)
        return None if value is None else bytes(value)

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        """`SET key value [PX ttl]`: Redis expires the entry itself."""
        if ttl is None:
            self.client.set(key, value)
        else:
            self.client.set(key, value, px=max(1, round(ttl * 1000)))

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()

    def secrets(self) -> tuple[str, ...]:
        """Strings to mask wherever a Redis error is shown."""
        return (self._password,) if self._password else ()
