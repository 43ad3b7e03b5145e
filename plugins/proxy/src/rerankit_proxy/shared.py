"""State shared by every worker and replica through Redis: key limits and ejections.

Configured by `router_settings.redis_url` (or `redis_host`/`redis_port`/`redis_password`,
or `RERANKIT_REDIS_URL`); without it every process keeps its own state, as before.

- A key's `rpm` is a **fixed window** of 60 s per key: one Lua script runs `INCR` and, for
  the window's first request, `PEXPIRE` atomically, so concurrent processes never lose a
  count nor leave a counter without expiry. Over the limit, the wait is the window's
  remaining `PTTL`.
- A key's `tpm` (`tokens.py`) is a fixed window of 60 s per key too, started by its first
  counted tokens: one script reads the count and `PTTL` before a request, another adds
  an answer's tokens with `INCRBY` (and `PEXPIRE` for the window's first) after it.
- An **ejection** is a key `rerankit:proxy:ejected:<deployment id>` set with `PX` for the
  ejection's length; each process reads the remaining `PTTL` of its group's deployments
  when it picks one, at most every `ejection_cache` seconds (0.5 s), so the hot path
  usually makes no Redis call at all.
- Redis down or slow: every operation has a short timeout; a failure makes the caller use
  its local state (per-process token bucket, local ejections), logs one warning per
  outage, counts `rerankit_proxy_redis_errors_total`, and skips Redis for `retry_after`
  seconds; then the next operation tries again (redis-py reconnects by itself).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from .config import RedisSettings
from .metrics import Metrics

__all__ = ["SharedState", "PREFIX", "WINDOW_SECONDS"]

logger = logging.getLogger("rerankit.proxy")

T = TypeVar("T")

#: Every key the proxy writes starts with this.
PREFIX = "rerankit:proxy:"
#: The length of a key's rate window.
WINDOW_SECONDS = 60.0

# KEYS[1]: the key's counter; ARGV[1]: the window in ms. Returns {count, ms left}.
# INCR and PEXPIRE in one script: atomic, so no counter is ever left without expiry.
_RATE_SCRIPT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {n, ttl}
"""


# KEYS[1]: the key's token counter. Returns {tokens counted, ms left} (0 and -2 if none).
_TOKENS_USED_SCRIPT = """
local n = redis.call('GET', KEYS[1])
return {tonumber(n or '0'), redis.call('PTTL', KEYS[1])}
"""
# KEYS[1]: the key's token counter; ARGV[1]: the window in ms; ARGV[2]: tokens to add.
# INCRBY and, for the window's first tokens, PEXPIRE in one script, as for rpm.
_ADD_TOKENS_SCRIPT = """
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class SharedState:
    """The proxy's Redis: rate windows and ejections, failing open to local state."""

    def __init__(
        self,
        settings: RedisSettings,
        metrics: Metrics,
        *,
        retry_after: float = 1.0,
        ejection_cache: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import redis.asyncio as aioredis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self.settings = settings
        self.metrics = metrics
        self.retry_after = retry_after
        #: Seconds a process trusts what it read of the shared ejections.
        self.ejection_cache = ejection_cache
        self._clock = clock
        self._down_until = 0.0
        self._outage = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self.client: Any = aioredis.Redis(
            host=settings.host,
            port=settings.port,
            db=settings.db,
            username=settings.username,
            password=settings.password,
            ssl=settings.ssl,
            socket_timeout=settings.timeout,
            socket_connect_timeout=settings.timeout,
            retry=Retry(NoBackoff(), 0),  # a failure falls back at once; never wait
            health_check_interval=0,
        )
        self._rate = self.client.register_script(_RATE_SCRIPT)
        self._tokens_used = self.client.register_script(_TOKENS_USED_SCRIPT)
        self._add_tokens = self.client.register_script(_ADD_TOKENS_SCRIPT)

    def __repr__(self) -> str:
        return f"SharedState({self.settings.description})"

    @property
    def available(self) -> bool:
        """False while an outage is being waited out (calls use local state)."""
        return self._clock() >= self._down_until

    async def check(self) -> bool:
        """Whether Redis answers a `PING` now (a failure is logged like any other)."""
        return await self._run("ping", self.client.ping) is not None

    async def acquire(self, digest: bytes, rpm: int) -> float | bool | None:
        """Count one request of a key: None if allowed, the seconds to wait if over its
        `rpm`, or False when Redis cannot say (use the local limiter)."""
        key = f"{PREFIX}rpm:{digest.hex()[:32]}"
        window = round(WINDOW_SECONDS * 1000)
        answer = await self._run("rate_limit", lambda: self._rate(keys=[key], args=[window]))
        if answer is None:
            return False
        count, left_ms = int(answer[0]), int(answer[1])
        return None if count <= rpm else max(left_ms, 1) / 1000

    async def tokens_wait(self, digest: bytes, tpm: int) -> float | bool | None:
        """None if a key's token window is under its `tpm`, the seconds until the window
        ends if not, or False when Redis cannot say (use the local windows)."""
        key = f"{PREFIX}tpm:{digest.hex()[:32]}"
        answer = await self._run("tokens_used", lambda: self._tokens_used(keys=[key]))
        if answer is None:
            return False
        used, left_ms = int(answer[0]), int(answer[1])
        if used < tpm:
            return None
        return max(left_ms, 1) / 1000 if left_ms > 0 else 1.0

    async def add_tokens(self, digest: bytes, tokens: int) -> bool:
        """Count `tokens` in a key's shared window; False when Redis did not take them."""
        key = f"{PREFIX}tpm:{digest.hex()[:32]}"
        window = round(WINDOW_SECONDS * 1000)
        answer = await self._run(
            "add_tokens", lambda: self._add_tokens(keys=[key], args=[window, tokens])
        )
        return answer is not None

    async def ejections(self, deployment_ids: Sequence[str]) -> list[float] | None:
        """Seconds each deployment stays ejected (0: not ejected), or None if unknown."""

        async def read() -> Any:
            async with self.client.pipeline(transaction=False) as pipe:
                for ident in deployment_ids:
                    pipe.pttl(f"{PREFIX}ejected:{ident}")
                return await pipe.execute()

        answer = await self._run("read_ejections", read)
        if answer is None:
            return None
        return [max(0, int(ms)) / 1000 for ms in answer]

    def publish_ejection(self, deployment_id: str, seconds: float) -> None:
        """Tell the other processes a deployment is out for `seconds` (in the background:
        the failing call goes on at once)."""
        if seconds <= 0 or not self.available:
            return
        key = f"{PREFIX}ejected:{deployment_id}"
        ms = max(1, round(seconds * 1000))
        task = asyncio.get_running_loop().create_task(
            self._run("publish_ejection", lambda: self.client.set(key, b"1", px=ms))
        )
        self._tasks.add(task)  # a strong reference until it ends
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Wait for the ejections being published, then close the connections."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=1.0)
        await self.client.aclose()

    async def _run(self, operation: str, command: Callable[[], Awaitable[T]]) -> T | None:
        """Run one Redis operation within the timeout; None (and local state) on failure."""
        if not self.available:
            return None
        try:
            # The socket timeouts bound each read; this bounds the whole operation.
            async with asyncio.timeout(self.settings.timeout * 3):
                result = await command()
        except Exception as exc:  # any failure of Redis must fall back, never answer 500
            self._failed(operation, exc)
            return None
        if self._outage:
            self._outage = False
            logger.warning(
                "Redis at %s answers again: state is shared again", self.settings.description
            )
        return result

    def _failed(self, operation: str, exc: BaseException) -> None:
        self.metrics.redis_errors.inc((("operation", operation),))
        self._down_until = self._clock() + self.retry_after
        if not self._outage:
            self._outage = True
            # The error's type only: its text may repeat the address with credentials.
            logger.warning(
                "Redis at %s failed (%s during %s): rate limits and ejections are per "
                "process until it answers again (retried every %.1f s)",
                self.settings.description,
                type(exc).__name__,
                operation,
                self.retry_after,
            )
