"""Building a cache from a URL (`RERANKIT_CACHE`, `ResponseCache("...")`) or a config mapping.

URLs:

- `memory://?max_entries=1024&max_bytes=...`: an in-process LRU.
- `sqlite:///absolute/path.db` or `sqlite:relative/path.db`, `?max_entries=&timeout=`.
- `redis://[[user]:password@]host[:port][/db]` (`rediss://` for TLS), `?timeout=`.

Every scheme also takes `ttl` (seconds), `namespace` (a prefix for every key, to share
one store between deployments that must not see each other's entries), `retry_after`
(seconds a failed backend is left alone) and `max_entry_bytes`. An unknown scheme or
option, or a bad value, is a `ConfigurationError` saying what is accepted.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from rerankit.errors import ConfigurationError
from rerankit.wire import display_url

from .backends import CacheBackend, MemoryBackend, SQLiteBackend

if TYPE_CHECKING:
    from .plugin import ResponseCache

__all__ = ["ParsedCacheUrl", "parse_cache_url", "cache_from_url", "cache_from_config"]

SCHEMES = ("memory", "sqlite", "redis", "rediss")
#: Gateway `cache_params.type` values, and the scheme each maps to.
GATEWAY_TYPES = {"local": "memory", "redis": "redis"}
#: Call types the gateway's `supported_call_types` names for reranking.
GATEWAY_RERANK_TYPES = {"rerank", "arerank"}
#: A string value naming an environment variable, as in the gateway's config files.
ENV_PREFIX = "os.environ/"


@dataclass(slots=True)
class ParsedCacheUrl:
    """A built backend and the cache options the URL set (None: not set)."""

    backend: CacheBackend
    ttl: float | None = None
    namespace: str | None = None
    retry_after: float | None = None
    max_entry_bytes: int | None = None


def _seconds(name: str, value: object) -> float:
    number: float = _number(name, value, float)
    if not number > 0:
        raise ConfigurationError(f"rerankit-cache: {name} must be > 0 seconds, got {value!r}.")
    return number


def _seconds_or_zero(name: str, value: object) -> float:
    number: float = _number(name, value, float)
    if not number >= 0:
        raise ConfigurationError(f"rerankit-cache: {name} must be >= 0 seconds, got {value!r}.")
    return number


def _count(name: str, value: object) -> int:
    number: int = _number(name, value, int)
    if number < 1:
        raise ConfigurationError(f"rerankit-cache: {name} must be >= 1, got {value!r}.")
    return number


def _text(name: str, value: object) -> str:
    if not isinstance(value, str) or len(value) > 200:
        raise ConfigurationError(f"rerankit-cache: {name} must be a short string, got {value!r}.")
    return value


def _number(name: str, value: object, kind: type[int] | type[float]) -> Any:
    bad = ConfigurationError(f"rerankit-cache: {name} must be a number, got {value!r}.")
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise bad
    try:
        number = kind(value)
    except ValueError:
        raise bad from None
    if not math.isfinite(number):  # NaN passes every comparison the wrong way
        raise bad
    return number


Check = Callable[[str, object], Any]
COMMON_OPTIONS: dict[str, Check] = {
    "ttl": _seconds,
    "namespace": _text,
    "retry_after": _seconds_or_zero,
    "max_entry_bytes": _count,
}
BACKEND_OPTIONS: dict[str, dict[str, Check]] = {
    "memory": {"max_entries": _count, "max_bytes": _count},
    "sqlite": {"max_entries": _count, "timeout": _seconds},
    "redis": {"timeout": _seconds},
    "rediss": {"timeout": _seconds},
}


def parse_cache_url(url: str, extra: Mapping[str, object] | None = None) -> ParsedCacheUrl:
    """Build the backend `url` names; `extra` adds options as if they were in the query."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        shown = display_url(url)  # never the password in a message
        raise ConfigurationError(f"rerankit-cache: {shown!r} is not a valid URL ({exc}).") from None
    scheme = parts.scheme.lower()
    # What messages show: no password, no query (display_url would turn memory:// into memory:)
    shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
    if scheme not in SCHEMES:
        raise ConfigurationError(
            f"rerankit-cache: unknown cache URL scheme {parts.scheme!r} in {shown!r}; use "
            f"memory://, sqlite:///path/to.db or redis://host:port/0."
        )
    options = _options(scheme, shown, parse_qsl(parts.query, keep_blank_values=True), extra)
    if parts.fragment:
        raise ConfigurationError(f"rerankit-cache: {shown!r} has a #fragment; remove it.")
    if scheme == "memory":
        if parts.netloc or parts.path not in ("", "/"):
            raise ConfigurationError(
                f"rerankit-cache: memory:// takes no host or path, got {shown!r}."
            )
        backend: CacheBackend = MemoryBackend(
            max_entries=options.pop("max_entries", None), max_bytes=options.pop("max_bytes", None)
        )
    elif scheme == "sqlite":
        if parts.netloc or not parts.path.strip("/"):
            raise ConfigurationError(
                f"rerankit-cache: write a SQLite cache as sqlite:///absolute/path.db or "
                f"sqlite:relative/path.db, got {shown!r}."
            )
        backend = SQLiteBackend(unquote(parts.path), **_pop(options, "max_entries", "timeout"))
    else:
        from .backends.redis import RedisBackend

        db = parts.path.strip("/") or "0"
        if not (db.isascii() and db.isdigit()):
            raise ConfigurationError(
                f"rerankit-cache: the Redis database in {shown!r} must be a number (/0)."
            )
        backend = RedisBackend(
            parts.hostname or "localhost",
            port or 6379,
            int(db),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            ssl=scheme == "rediss",
            **_pop(options, "timeout"),
        )
    return ParsedCacheUrl(backend, **options)


def _options(
    scheme: str,
    shown: str,
    query: list[tuple[str, str]],
    extra: Mapping[str, object] | None,
) -> dict[str, Any]:
    allowed = {**COMMON_OPTIONS, **BACKEND_OPTIONS[scheme]}
    found: dict[str, Any] = {}
    for name, value in [*query, *(extra or {}).items()]:
        check = allowed.get(name)
        if check is None:
            raise ConfigurationError(
                f"rerankit-cache: unknown option {name!r} in {shown!r}; {scheme}:// "
                f"accepts {', '.join(sorted(allowed))}."
            )
        if name in found:
            raise ConfigurationError(f"rerankit-cache: {name} is given twice for {shown!r}.")
        found[name] = check(name, value)
    return found


def _pop(options: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: options.pop(name) for name in names if name in options}


def cache_from_url(url: str) -> ResponseCache:
    """A `ResponseCache` on the backend `url` names (see the module's docstring)."""
    from .plugin import ResponseCache

    return ResponseCache(url)


def cache_from_config(
    config: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> ResponseCache | None:
    """The cache a proxy configuration asks for, or None when it asks for none.

    Accepts the native shape, either the `cache:` section alone or a whole config
    holding it:

    ```yaml
    cache:
      url: redis://cache.internal:6379/0
      ttl: 600
    ```

    and the gateway shape (a whole config):

    ```yaml
    litellm_settings:
      cache: true
      cache_params: {type: redis, host: cache.internal, port: 6379, password: ..., ttl: 600}
    ```

    `cache_params.type` is `local` (in-process) or `redis`; `namespace` and
    `supported_call_types` are understood too (a list without `rerank`/`arerank` means
    no cache for reranking). Any other key is a `ConfigurationError`, never ignored.

    A string value `os.environ/NAME` is read from `environ` (default: `os.environ`), as
    the gateway does, so a password need not sit in the file; an unset variable is a
    `ConfigurationError` naming it.
    """
    env = os.environ if environ is None else environ
    if not isinstance(config, Mapping):
        raise ConfigurationError(
            f"rerankit-cache: the cache configuration must be a mapping, got "
            f"{type(config).__name__}."
        )
    if "url" in config:
        return _native(_resolved(config, "cache", env))
    native = config.get("cache")
    gateway = _gateway_section(config.get("litellm_settings"))
    if native is not None and gateway is not None:
        raise ConfigurationError(
            "rerankit-cache: the config has both a cache: section and litellm_settings.cache; "
            "keep one."
        )
    if native is not None:
        if not isinstance(native, Mapping):
            raise ConfigurationError(
                "rerankit-cache: the cache: section must be a mapping with a url."
            )
        return _native(_resolved(native, "cache", env))
    if gateway is not None:
        return _from_gateway(_resolved(gateway, "litellm_settings.cache_params", env))
    return None


def _resolved(section: Mapping[str, Any], where: str, environ: Mapping[str, str]) -> dict[str, Any]:
    """`section` with each `os.environ/NAME` value replaced by that variable's value."""
    found: dict[str, Any] = {}
    for name, value in section.items():
        found[name] = value
        if isinstance(value, str) and value.startswith(ENV_PREFIX):
            variable = value[len(ENV_PREFIX) :]
            found[name] = environ.get(variable)
            if not found[name]:
                raise ConfigurationError(
                    f"rerankit-cache: {where}.{name} names the environment variable "
                    f"{variable!r}, which is not set; set it or write the value."
                )
    return found


def _native(section: Mapping[str, Any]) -> ResponseCache:
    from .plugin import ResponseCache

    url = section.get("url")
    if not isinstance(url, str) or not url:
        raise ConfigurationError(
            "rerankit-cache: the cache: section needs url: (memory://, sqlite:///path/to.db "
            "or redis://host:port/0)."
        )
    parsed = parse_cache_url(url, {k: v for k, v in section.items() if k != "url"})
    return ResponseCache(parsed.backend, **_settings(parsed))


def _gateway_section(settings: object) -> Mapping[str, Any] | None:
    """`cache_params` (or `{}`) when `litellm_settings.cache` is on, else None."""
    if settings is None:
        return None
    if not isinstance(settings, Mapping):
        raise ConfigurationError("rerankit-cache: litellm_settings must be a mapping.")
    enabled = settings.get("cache", False)
    if not isinstance(enabled, bool):
        raise ConfigurationError(
            f"rerankit-cache: litellm_settings.cache must be true or false, got {enabled!r}."
        )
    params = settings.get("cache_params")
    params = {} if params is None else params
    if not isinstance(params, Mapping):
        raise ConfigurationError("rerankit-cache: litellm_settings.cache_params must be a mapping.")
    return params if enabled else None


def _from_gateway(params: Mapping[str, Any]) -> ResponseCache | None:
    from .backends.redis import RedisBackend
    from .plugin import ResponseCache

    kind = params.get("type", "local")
    if kind not in GATEWAY_TYPES:
        raise ConfigurationError(
            f"rerankit-cache: cache_params.type {kind!r} is not supported; use "
            f"{' or '.join(GATEWAY_TYPES)}."
        )
    allowed = {"type", "ttl", "namespace", "supported_call_types"}
    if kind == "redis":
        allowed |= {"host", "port", "password", "username"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigurationError(
            f"rerankit-cache: cache_params {', '.join(map(repr, unknown))} not supported for "
            f"type {kind!r}; accepted: {', '.join(sorted(allowed))}."
        )
    types = params.get("supported_call_types")
    if types is not None:
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            raise ConfigurationError(
                "rerankit-cache: cache_params.supported_call_types must be a list of names."
            )
        if not GATEWAY_RERANK_TYPES & set(types):
            return None  # the config caches other call types, not reranking
    options = {
        name: COMMON_OPTIONS[name](name, params[name])
        for name in ("ttl", "namespace")
        if params.get(name) is not None
    }
    backend: CacheBackend
    if kind == "local":
        backend = MemoryBackend()
    else:
        backend = RedisBackend(
            _text("host", params.get("host", "localhost")),
            _count("port", params.get("port", 6379)),
            username=_optional_text("username", params.get("username")),
            password=_optional_text("password", params.get("password")),
        )
    return ResponseCache(backend, **options)


def _optional_text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigurationError(f"rerankit-cache: {name} must be a string.")  # no value shown
    return value


def _settings(parsed: ParsedCacheUrl) -> dict[str, Any]:
    found = {
        "ttl": parsed.ttl,
        "namespace": parsed.namespace,
        "retry_after": parsed.retry_after,
        "max_entry_bytes": parsed.max_entry_bytes,
    }
    return {name: value for name, value in found.items() if value is not None}
