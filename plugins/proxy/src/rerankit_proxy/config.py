"""The proxy's configuration: what it serves, to whom, and within which limits.

The file is YAML in the widely used gateway shape, accepted as-is, with a native spelling
(`params` for `litellm_params`, `id` for `model_info.id`) documented as the primary one:

```yaml
model_list:
  - model_name: nvidia-rerank              # the name callers send
    params:                                # or litellm_params
      model: nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2
      api_key: os.environ/NVIDIA_NIM_API_KEY
      truncate: END                        # provider parameters
      timeout: 10                          # seconds per upstream attempt
general_settings:
  master_key: os.environ/RERANKIT_MASTER_KEY
keys:
  - {name: team-a, key: os.environ/TEAM_A_KEY, models: [nvidia-rerank], rpm: 600}
router_settings: {num_retries: 3, timeout: 30, fallbacks: [{nvidia-rerank: [bm25]}]}
limits: {max_body_bytes: 16777216, max_documents: 10000, request_timeout: 60}
```

Every problem is a `ProxyConfigError` naming the file, the field and the fix, raised at
start-up, before the proxy listens. Deployments are checked without I/O by preparing a
one-document call through the provider (unknown prefix, bad parameter, missing key,
bad base URL all show up here). This module holds the types; `config_reader` reads a
file or mapping into them (`load_config`, `parse_config`, `default_config`).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from rerankit.errors import ConfigurationError

from .cors import CorsSettings
from .server_settings import ServerSettings

__all__ = [
    "ProxyConfigError",
    "Deployment",
    "VirtualKey",
    "RouterSettings",
    "Limits",
    "ProxyConfig",
    "RoutingStrategy",
    "RedisSettings",
    "generate_key",
]

logger = logging.getLogger("rerankit.proxy")

RoutingStrategy = Literal["round-robin", "least-in-flight"]


class ProxyConfigError(ConfigurationError):
    """The proxy's configuration is wrong; the message names the file, the field and the fix."""

    def __init__(self, source: str, where: str, problem: str, fix: str = "") -> None:
        self.source = source
        self.field = where
        location = f"{source}: {where}" if where else source
        super().__init__(f"{location}: {problem}" + (f" {fix}" if fix else ""))


class ResponseCacheLike(Protocol):
    """What the proxy uses of a response cache (`rerankit_cache.ResponseCache`): it is a
    life-cycle plugin for the upstream client, and has counters and a backend to close."""

    def stats(self) -> Mapping[str, int]:
        """Counters by result (hits, misses, stores, errors, ...)."""
        ...

    def close(self) -> None:
        """Close the backend."""
        ...


@dataclass(frozen=True, slots=True)
class Deployment:
    """One upstream that serves a model name: a provider model and how to reach it.

    `model` is a rerankit model string (`prefix/model`); a `model_name` ending in `*`
    is a wildcard deployment whose `model` ends in `*` too, replaced by what the caller's
    model name has in its place.
    """

    id: str
    model_name: str
    model: str
    api_key: str | None = field(default=None, repr=False)
    api_base: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    max_retries: int | None = None
    #: Where it was configured, for messages: `model_list[2]`.
    source: str = ""

    @property
    def is_wildcard(self) -> bool:
        """Whether this deployment serves every model name starting with its prefix."""
        return self.model_name.endswith("*")

    def upstream_model(self, requested: str) -> str:
        """The provider model string for the caller's `requested` model name."""
        if not self.is_wildcard:
            return self.model
        return self.model[:-1] + requested[len(self.model_name) - 1 :]


@dataclass(frozen=True, slots=True)
class VirtualKey:
    """A caller's key: its name (for logs and metrics), the models it may call, its rate."""

    name: str
    key: str = field(repr=False)
    #: Model names this key may call; None: every model.
    models: frozenset[str] | None = None
    #: Requests per minute this key may make (across every process sharing a Redis,
    #: else per worker process); None: unlimited.
    rpm: int | None = None
    #: Tokens per minute this key's calls may use, as the providers report them (shared
    #: like `rpm`; `tokens.py`); None: unlimited.
    tpm: int | None = None


@dataclass(frozen=True, slots=True)
class RedisSettings:
    """Where the state shared by every worker and replica lives (`router_settings.redis_url`,
    `redis_host`/`redis_port`/`redis_password`, or `RERANKIT_REDIS_URL`).

    Kept as parts, the password out of the repr, so it never reaches a log line.
    """

    host: str = "localhost"
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl: bool = False
    #: Seconds to connect and to wait for an answer before Redis counts as down
    #: (`router_settings.redis_timeout`). Not shorter: the wait includes the event loop's
    #: own lag, which under full load reaches a tenth of a second, and a timeout there
    #: would make a healthy Redis count as down and the limits per process.
    timeout: float = 0.5

    @property
    def description(self) -> str:
        """Where it is, without credentials (for logs)."""
        scheme = "rediss" if self.ssl else "redis"
        return f"{scheme}://{self.host}:{self.port}/{self.db}"


@dataclass(frozen=True, slots=True)
class RouterSettings:
    """How calls are spread over deployments, retried, cooled down and fallen back."""

    #: Further attempts after the first failed one (on another deployment when there is one).
    num_retries: int = 3
    #: Seconds per upstream attempt, unless the deployment sets its own `timeout`.
    timeout: float = 30.0
    #: model name -> model names tried, in order, when every attempt on it failed.
    fallbacks: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    routing_strategy: RoutingStrategy = "round-robin"
    #: Seconds: the backoff ceiling before retrying the same deployment, doubled per retry...
    retry_backoff: float = 0.05
    #: ... up to this many seconds (full jitter: the wait is uniform below the ceiling).
    retry_backoff_max: float = 1.0
    #: Longest `Retry-After` (seconds) an upstream's 429 may hold a deployment back.
    max_retry_after: float = 60.0
    #: Longest a request waits for a rate-limited deployment; longer: 429 with the wait.
    max_retry_wait: float = 5.0
    # Outlier detection (proxy/health.py):
    #: Share of failed attempts in the window that ejects a deployment...
    failure_rate_threshold: float = 0.5
    #: ... once the window holds at least this many attempts.
    minimum_requests: int = 10
    #: Seconds of attempts the failure rate looks at.
    failure_window: float = 30.0
    #: Failures in a row that eject a deployment whatever the rate.
    allowed_fails: int = 5
    #: Seconds of a first ejection; doubled for each repeat...
    cooldown_time: float = 5.0
    #: ... up to this many seconds.
    max_cooldown_time: float = 300.0
    #: Most of a group (percent) that may be ejected at once; never its last deployment.
    max_ejection_percent: float = 50.0
    #: Trial calls at a time to a deployment back from ejection; that many successes
    #: restore it, one failure ejects it again.
    half_open_requests: int = 3


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one request may ask; each breach is a JSON 4xx/504 naming the limit."""

    max_body_bytes: int = 16 * 1024 * 1024
    max_documents: int = 10_000
    max_query_chars: int = 32_768
    max_document_chars: int = 131_072
    #: Seconds for a whole request, retries and fallbacks included (504 after).
    request_timeout: float = 120.0
    #: Largest upstream answer accepted, decompressed (a larger one fails that attempt).
    max_response_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """A checked configuration, ready to serve."""

    deployments: tuple[Deployment, ...]
    master_key: str = field(repr=False)
    keys: tuple[VirtualKey, ...] = ()
    router: RouterSettings = field(default_factory=RouterSettings)
    limits: Limits = field(default_factory=Limits)
    #: Connection-level limits (header size, read timeouts, connection cap, shutdown).
    server: ServerSettings = field(default_factory=ServerSettings)
    #: The file it came from, or `<default>`.
    source: str = "<default>"
    #: True when no master key was configured and one was generated for this run.
    generated_master_key: bool = False
    #: True: no authentication at all, every caller is let in as the master key (`serve`
    #: sets it for a file without master key or keys on loopback, or with `--no-auth`).
    open_access: bool = False
    #: The response cache (a `rerankit_cache.ResponseCache`) the `cache:` section or the
    #: gateway's `litellm_settings.cache` asks for; None: no cache.
    cache: ResponseCacheLike | None = field(default=None, repr=False)
    #: The Redis that rate limits and ejections are shared through; None: per process.
    redis: RedisSettings | None = None
    #: Browser origins allowed to call (`general_settings.cors`); None: no CORS.
    cors: CorsSettings | None = None
    #: False: `GET /metrics` needs no key (`general_settings.metrics_auth: false`).
    metrics_auth: bool = True

    def model_names(self) -> list[str]:
        """Every model name served, in configuration order, without repeats."""
        return list(dict.fromkeys(d.model_name for d in self.deployments))


def generate_key() -> str:
    """A new random master key."""
    return "sk-rerankit-" + secrets.token_urlsafe(24)
