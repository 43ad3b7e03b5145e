"""Reading a configuration mapping into a `ProxyConfig`, checking every field.

`ConfigReader` walks the parsed YAML, resolves `os.environ/NAME` values, accepts both
spellings, and raises `ProxyConfigError` naming the file, the field and the fix.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
from collections.abc import Mapping
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from rerankit.errors import ConfigurationError, RerankitError
from rerankit.preflight import check_call, score_kind_after
from rerankit.provider import ProviderRequest
from rerankit.registry import ProviderRegistry, default_registry

from .config import (
    Deployment,
    Limits,
    ProxyConfig,
    ProxyConfigError,
    RedisSettings,
    ResponseCacheLike,
    RouterSettings,
    RoutingStrategy,
    VirtualKey,
    generate_key,
)
from .cors import parse_cors
from .params import ProviderParams
from .server_settings import MINIMUM, ServerSettings, setting_problem
from .tokens import MAX_TPM, NO_TOKEN_PROVIDERS

__all__ = [
    "ConfigReader",
    "ENV_PREFIX",
    "load_config",
    "parse_config",
    "default_config",
    "read_server_settings",
    "ENV_REDIS_URL",
    "with_environment_redis",
]

logger = logging.getLogger("rerankit.proxy")

ENV_PREFIX = "os.environ/"
#: Spellings of `routing_strategy` other gateways use, mapped to ours.
_STRATEGIES: dict[str, RoutingStrategy] = {
    "round-robin": "round-robin",
    "simple-shuffle": "round-robin",
    "least-in-flight": "least-in-flight",
    "least-busy": "least-in-flight",
}
#: Deployment settings that are the proxy's, not the provider's.
_DEPLOYMENT_FIELDS = frozenset(
    {"model", "api_key", "api_base", "timeout", "max_retries", "normalize"}
)
#: Deployment settings kept in `params` that the client takes as call arguments.
_CALL_SETTINGS = frozenset({"normalize"})
#: Gateway settings with no meaning here: accepted so files work as-is, logged at start-up.
_IGNORED_PARAMS = frozenset(
    {"max_parallel_requests", "input_cost_per_query", "input_cost_per_token"}
)
#: Per-deployment limits of the gateway format that the proxy does not enforce: refused,
#: since a limit silently not applied would let traffic through that the file forbids.
_REFUSED_LIMITS = ("rpm", "tpm")
#: The environment variable naming the shared Redis when the file does not.
ENV_REDIS_URL = "RERANKIT_REDIS_URL"
#: Longest `router_settings.redis_timeout` accepted, in seconds.
MAX_REDIS_TIMEOUT = 5.0
_REDIS_FIELDS = ("redis_url", "redis_host", "redis_port", "redis_password", "redis_timeout")
_MIN_KEY_LENGTH = 8
#: Gateway `general_settings` that restrict who gets in: ignoring one would let in callers
#: the file meant to keep out, so they stop start-up instead of being warned about.
_ACCESS_SETTINGS = frozenset(
    {
        "allowed_ips",
        "custom_auth",
        "enable_jwt_auth",
        "enforce_user_param",
        "allowed_routes",
        "admin_only_routes",
    }
)
_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@-]*")


class ConfigReader:
    """Walks the configuration, resolving `os.environ/NAME` and naming every field."""

    def __init__(self, source: str, environ: Mapping[str, str]) -> None:
        self.source = source
        self.environ = environ

    def error(self, where: str, problem: str, fix: str = "") -> ProxyConfigError:
        return ProxyConfigError(self.source, where, problem, fix)

    # -- values -----------------------------------------------------------------------

    def resolve(self, where: str, value: Any) -> Any:
        """`os.environ/NAME` -> the variable's value; anything else unchanged."""
        if isinstance(value, str) and value.startswith(ENV_PREFIX):
            name = value[len(ENV_PREFIX) :]
            resolved = self.environ.get(name)
            if not resolved:
                raise self.error(
                    where,
                    f"the environment variable {name} is not set (the value is {value!r}).",
                    f"Set {name} before starting the proxy, or write the value in the file.",
                )
            return resolved
        return value

    def mapping(self, where: str, value: Any, *, required: bool = False) -> dict[str, Any]:
        if value is None and not required:
            return {}
        if not isinstance(value, Mapping):
            raise self.error(where, f"must be a mapping, got {_kind(value)}.")
        for key in value:
            if not isinstance(key, str):
                raise self.error(where, f"has the non-text key {key!r}.", "Quote it.")
        return dict(value)

    def known(self, where: str, data: Mapping[str, Any], allowed: set[str]) -> None:
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise self.error(
                f"{where}.{unknown[0]}" if where else unknown[0],
                "is not a known setting.",
                f"Allowed here: {', '.join(sorted(allowed))}.",
            )

    def text(self, where: str, value: Any, *, required: bool = True) -> str | None:
        value = self.resolve(where, value)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(where, f"must be a non-empty string, got {_kind(value)}.")
        return value

    def number(
        self,
        where: str,
        value: Any,
        *,
        minimum: float,
        integer: bool = False,
        maximum: float | None = None,
    ) -> Any:
        value = self.resolve(where, value)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = int(value) if integer else float(value)
        ok = isinstance(value, int) if integer else isinstance(value, int | float)
        # NaN passes every comparison (`.nan < 1` is False) and infinity means no limit at
        # all: neither is a setting, whatever YAML allows.
        finite = ok and (integer or math.isfinite(value))
        if isinstance(value, bool) or not finite or value < minimum:
            kind = "a whole number" if integer else "a finite number"
            raise self.error(
                where,
                f"must be {kind} >= {minimum}, got {value!r}.",
                f"Write a number such as {max(minimum, 1):g}.",
            )
        if maximum is not None and value > maximum:
            raise self.error(where, f"must be at most {maximum:g}, got {value!r}.")
        return value if integer else float(value)

    def secret(self, where: str, value: Any, *, short_ok: bool = False) -> str:
        """A key; one under `_MIN_KEY_LENGTH` characters is refused, or with `short_ok`
        (the master key: the gateway file's own example is `sk-1234`) loudly warned about."""
        key = self.text(where, value)
        assert key is not None
        if short_ok and key == key.strip() and len(key) < _MIN_KEY_LENGTH:
            logger.warning(
                "%s: %s has only %d characters: anyone who tries a few common keys gets in. "
                "Use a long random value, e.g. from `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`.",
                self.source,
                where,
                len(key),
            )
            return key
        if len(key) < _MIN_KEY_LENGTH or key != key.strip():
            raise self.error(
                where,
                f"a key must have at least {_MIN_KEY_LENGTH} characters and no surrounding spaces.",
                "Use a long random value, e.g. from `python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'`.",
            )
        return key

    # -- sections ---------------------------------------------------------------------

    def cache(self, top: Mapping[str, Any]) -> ResponseCacheLike | None:
        """The response cache the `cache:` section or `litellm_settings.cache` asks for."""
        settings = top.get("litellm_settings")
        if isinstance(settings, Mapping):
            for other in sorted(set(settings) - {"cache", "cache_params"}):
                logger.warning(
                    "%s: litellm_settings.%s is not used by rerankit and is ignored",
                    self.source,
                    other,
                )
        wanted = top.get("cache") is not None or (
            isinstance(settings, Mapping) and settings.get("cache") not in (None, False)
        )
        if not wanted:
            return None
        try:
            from rerankit_cache import cache_from_config
        except ImportError:
            raise self.error(
                "cache",
                "a response cache is configured, but rerankit-cache is not installed.",
                "pip install 'rerankit-cache[redis]' (or without [redis] for memory/sqlite).",
            ) from None
        section = {k: top[k] for k in ("cache", "litellm_settings") if k in top}
        try:
            return cache_from_config(section, environ=self.environ)
        except ConfigurationError as exc:
            raise self.error("cache", f"{exc}") from None

    def config(self, data: Any, registry: ProviderRegistry, master_key: str | None) -> ProxyConfig:
        if data is None:
            raise self.error("", "the file is empty.", "Add a model_list (see docs/proxy.md).")
        top = self.mapping("", data, required=True)
        self.known(
            "",
            top,
            {
                "model_list",
                "general_settings",
                "router_settings",
                "litellm_settings",
                "environment_variables",
                "keys",
                "limits",
                "server_settings",
                "cache",
            },
        )
        if "environment_variables" in top:
            logger.warning(
                "%s: environment_variables is not used by rerankit and is ignored", self.source
            )
        cache = self.cache(top)
        deployments = self.model_list(top.get("model_list"), registry)
        names = {d.model_name for d in deployments}
        general = self.mapping("general_settings", top.get("general_settings"))
        key = general.pop("master_key", None)
        cors = parse_cors(self.error, "general_settings.cors", general.pop("cors", None))
        metrics_auth = general.pop("metrics_auth", True)
        if not isinstance(metrics_auth, bool):
            raise self.error(
                "general_settings.metrics_auth",
                f"must be true or false, got {_kind(metrics_auth)}.",
            )
        for other in sorted(general):
            if other in _ACCESS_SETTINGS:
                raise self.error(
                    f"general_settings.{other}",
                    "restricts who may call the proxy, which rerankit does not implement; "
                    "ignoring it would let in callers the file means to keep out.",
                    "Remove it and restrict access with the master key, virtual keys "
                    "(keys: with models) and the address the proxy binds.",
                )
            logger.warning(
                "%s: general_settings.%s is not used by rerankit and is ignored",
                self.source,
                other,
            )
        generated = key is None and master_key is None
        if key is not None:
            master = self.secret("general_settings.master_key", key, short_ok=True)
        else:
            master = master_key or generate_key()
        keys = self.keys(top.get("keys"), names, master)
        self.warn_tokenless(keys, deployments)
        router = self.router(top.get("router_settings"), names)
        self.warn_mixed_kinds(deployments, router.fallbacks, registry)
        limits = self.limits(top.get("limits"))
        server = read_server_settings(self, top.get("server_settings"))
        redis = self.redis(top.get("router_settings"))
        return ProxyConfig(
            deployments,
            master,
            keys,
            router,
            limits,
            server,
            self.source,
            generated_master_key=generated,
            cache=cache,
            redis=redis,
            cors=cors,
            metrics_auth=metrics_auth,
        )

    def redis(self, value: Any) -> RedisSettings | None:
        """The shared Redis the file names: `router_settings.redis_url`, else `redis_host`/
        `redis_port`/`redis_password`; or None (`with_environment_redis` then looks at
        `RERANKIT_REDIS_URL`)."""
        where = "router_settings"
        data = value if isinstance(value, Mapping) else {}
        url = self.text(f"{where}.redis_url", data.get("redis_url"), required=False)
        host = self.text(f"{where}.redis_host", data.get("redis_host"), required=False)
        if url is not None and host is not None:
            raise self.error(
                f"{where}.redis_url",
                "is set together with redis_host.",
                "Give either redis_url or redis_host/redis_port/redis_password.",
            )
        timeout = data.get("redis_timeout")
        if url is not None:
            settings = self.redis_url(f"{where}.redis_url", url)
            return self.redis_timeout(where, settings, timeout)
        if host is None:
            for part in ("redis_port", "redis_password", "redis_timeout"):
                if data.get(part) is not None:
                    raise self.error(f"{where}.{part}", "is set without redis_host.")
            return None
        port = data.get("redis_port")
        settings = RedisSettings(
            host=host,
            port=6379
            if port is None
            else self.number(f"{where}.redis_port", port, minimum=1, integer=True),
            password=self.text(
                f"{where}.redis_password", data.get("redis_password"), required=False
            ),
        )
        if not 1 <= settings.port <= 65535:
            raise self.error(f"{where}.redis_port", f"must be 1..65535, got {port!r}.")
        return self.redis_timeout(
            where, self.needs_redis_py(f"{where}.redis_host", settings), timeout
        )

    def redis_timeout(self, where: str, settings: RedisSettings, value: Any) -> RedisSettings:
        """`settings` with `router_settings.redis_timeout` (seconds) when it is given."""
        if value is None:
            return settings
        seconds = self.number(f"{where}.redis_timeout", value, minimum=0.001)
        if seconds > MAX_REDIS_TIMEOUT:
            raise self.error(
                f"{where}.redis_timeout",
                f"must be at most {MAX_REDIS_TIMEOUT:g} s, got {value!r}.",
                "A Redis slower than that is down: calls should fall back, not wait.",
            )
        return replace(settings, timeout=seconds)

    def needs_redis_py(self, where: str, settings: RedisSettings) -> RedisSettings:
        """`settings`, once redis-py's asyncio client is known to be importable."""
        try:
            import redis.asyncio  # noqa: F401
        except ImportError:
            raise self.error(
                where,
                f"shared state in Redis ({settings.description}) is configured, but redis-py "
                "is not installed.",
                "pip install 'rerankit-proxy[redis]', or remove the Redis setting to keep "
                "state per process.",
            ) from None
        return settings

    def redis_url(self, where: str, url: str) -> RedisSettings:
        """`redis://[user:password@]host[:port][/db]` (or `rediss://` for TLS)."""
        from urllib.parse import unquote, urlsplit

        fix = "Use redis://[user:password@]host[:port][/db] or rediss://... for TLS."
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise self.error(where, "is not a valid Redis URL.", fix) from None
        if parts.scheme not in ("redis", "rediss") or not parts.hostname:
            # The URL may hold a password: never repeat it.
            raise self.error(where, "is not a redis:// or rediss:// URL with a host.", fix)
        path = parts.path.strip("/")
        if path and not path.isdigit():
            raise self.error(where, "names a database that is not a number.", fix)
        return self.needs_redis_py(
            where,
            RedisSettings(
                host=parts.hostname,
                port=port or 6379,
                db=int(path or 0),
                username=unquote(parts.username) if parts.username else None,
                password=unquote(parts.password) if parts.password else None,
                ssl=parts.scheme == "rediss",
            ),
        )

    def model_list(self, value: Any, registry: ProviderRegistry) -> tuple[Deployment, ...]:
        if not isinstance(value, list) or not value:
            raise self.error(
                "model_list",
                f"must be a non-empty list of models, got {_kind(value)}.",
                "Add entries with model_name and params (see docs/proxy.md).",
            )
        deployments = [
            self.deployment(f"model_list[{i}]", e, registry) for i, e in enumerate(value)
        ]
        self.check_groups(deployments)
        return tuple(deployments)

    def deployment(self, where: str, value: Any, registry: ProviderRegistry) -> Deployment:
        entry = self.mapping(where, value, required=True)
        self.known(where, entry, {"model_name", "params", "litellm_params", "model_info", "id"})
        name = self.text(f"{where}.model_name", entry.get("model_name"))
        assert name is not None
        if "params" in entry and "litellm_params" in entry:
            raise self.error(
                where, "has both params and litellm_params.", "Keep one (they are synonyms)."
            )
        spelling = "params" if "params" in entry else "litellm_params"
        pwhere = f"{where}.{spelling}"
        params = {
            k: self.resolve(f"{pwhere}.{k}", v)
            for k, v in self.mapping(pwhere, entry.get(spelling), required=True).items()
        }
        model = self.text(f"{pwhere}.model", params.pop("model", None))
        assert model is not None
        if name.endswith("*") != model.endswith("*"):
            raise self.error(
                f"{pwhere}.model",
                f"a wildcard model_name ({name!r}) needs a wildcard model, and only it.",
                "End both with '*', e.g. model_name 'nim/*' and model 'nvidia_nim/*'.",
            )
        info = self.mapping(f"{where}.model_info", entry.get("model_info"))
        ident = entry.get("id", info.get("id"))
        ident = self.text(f"{where}.id", ident, required=False)
        if ident is not None and not _ID_PATTERN.fullmatch(ident):
            raise self.error(
                f"{where}.id", f"{ident!r} is not a usable id.", "Use letters, digits, '.-_:/@'."
            )
        if "normalize" in params:  # passed on to the client as `normalize=`
            try:
                score_kind_after("unknown", params["normalize"])
            except RerankitError as exc:
                raise self.error(f"{pwhere}.normalize", str(exc)) from None
        for limit in _REFUSED_LIMITS:
            if params.get(limit) is not None:
                raise self.error(
                    f"{pwhere}.{limit}",
                    "per-deployment rate limits are not enforced by rerankit, and a limit "
                    "that is silently not applied would let more traffic through than the "
                    "file says.",
                    f"Remove {limit} here; limit callers with a key's rpm (keys: [...]), "
                    "or the upstream's own quota (its 429s are honoured).",
                )
            params.pop(limit, None)
        for ignored in sorted(_IGNORED_PARAMS & set(params)):
            logger.warning(
                "%s: %s.%s is not used by rerankit; ignored", self.source, pwhere, ignored
            )
            params.pop(ignored)
        deployment = Deployment(
            id=ident or "",
            model_name=name,
            model=model,
            api_key=self.text(f"{pwhere}.api_key", params.pop("api_key", None), required=False),
            api_base=self.text(f"{pwhere}.api_base", params.pop("api_base", None), required=False),
            timeout=(
                self.number(f"{pwhere}.timeout", params.pop("timeout"), minimum=0.001)
                if params.get("timeout") is not None
                else params.pop("timeout", None)
            ),
            max_retries=(
                self.number(
                    f"{pwhere}.max_retries", params.pop("max_retries"), minimum=0, integer=True
                )
                if params.get("max_retries") is not None
                else params.pop("max_retries", None)
            ),
            params=params,
            source=where,
        )
        self.check_deployment(deployment, pwhere, registry)
        return deployment

    def check_deployment(
        self, deployment: Deployment, where: str, registry: ProviderRegistry
    ) -> None:
        """Prepare a one-document call through the provider: no I/O, every setup error."""
        params = _provider_params(deployment)
        try:
            if deployment.is_wildcard:
                prefix = deployment.model.partition("/")[0]
                registry.get(prefix)
                if not deployment.model.startswith(prefix + "/"):
                    raise self.error(f"{where}.model", "must have the form 'prefix/...*'.")
                # No concrete model to check a call with: the parameters alone.
                self._check_params(where, ProviderParams(registry.get(prefix)), params)
                return
            _, provider, _ = registry.resolve(deployment.model)
            self._check_params(where, ProviderParams(provider), params)
            check_call(
                deployment.model,
                params=params,
                api_key=deployment.api_key,
                api_base=deployment.api_base,
                registry=registry,
            )
        except ProxyConfigError:
            raise
        except RerankitError as exc:
            raise self.error(where, str(exc)) from None

    def _check_params(
        self, where: str, accepted: ProviderParams, params: Mapping[str, Any]
    ) -> None:
        """A deployment's provider parameters, as a caller's are checked (`params.py`)."""
        unknown = accepted.unknown(params)
        if unknown is not None:
            allowed = ", ".join(sorted([*_DEPLOYMENT_FIELDS, *accepted.names()]))
            raise self.error(
                f"{where}.{unknown}", "is not a parameter of this provider.", f"Allowed: {allowed}."
            )
        accepted.check(params)

    def check_groups(self, deployments: list[Deployment]) -> None:
        """Name deployments; deployments sharing a model name must serve the same thing."""
        first: dict[str, Deployment] = {}
        counts: dict[str, int] = {}
        seen_ids: dict[str, str] = {}
        for i, entry in enumerate(deployments):
            counts[entry.model_name] = counts.get(entry.model_name, 0) + 1
            d = entry
            if not d.id:
                d = deployments[i] = _replace_id(d, f"{d.model_name}#{counts[d.model_name]}")
            if d.id in seen_ids:
                raise self.error(
                    f"{d.source}.id",
                    f"the id {d.id!r} is already used by {seen_ids[d.id]}.",
                    "Give each deployment its own id.",
                )
            seen_ids[d.id] = d.source
            other = first.setdefault(d.model_name, d)
            if other is d:
                continue
            prefix, other_prefix = d.model.partition("/")[0], other.model.partition("/")[0]
            if prefix != other_prefix or dict(d.params) != dict(other.params):
                what = "provider" if prefix != other_prefix else "provider parameters"
                raise self.error(
                    d.source,
                    f"model_name {d.model_name!r} is also used by {other.source} with a "
                    f"different {what} ({other.model!r} {dict(other.params)} vs "
                    f"{d.model!r} {dict(d.params)}). Deployments sharing a model_name are "
                    "load-balanced, so they must answer alike.",
                    "Give one of them another model_name (and use fallbacks to chain them).",
                )

    def warn_mixed_kinds(
        self,
        deployments: tuple[Deployment, ...],
        fallbacks: Mapping[str, tuple[str, ...]],
        registry: ProviderRegistry,
    ) -> None:
        """Log when a fallback chain mixes score kinds: a caller's threshold would misfire."""
        kinds = {d.model_name: _score_kind(d, registry) for d in reversed(deployments)}
        for name, chain in fallbacks.items():
            seen = {model: kinds[model] for model in (name, *chain)}
            if len(set(seen.values())) > 1:
                logger.warning(
                    "%s: the fallbacks of %s mix score kinds (%s); set the same normalize "
                    "(sigmoid or minmax) on these models so callers see one scale",
                    self.source,
                    name,
                    ", ".join(f"{m}: {k}" for m, k in seen.items()),
                )

    def keys(self, value: Any, names: set[str], master: str) -> tuple[VirtualKey, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            raise self.error("keys", f"must be a list of keys, got {_kind(value)}.")
        keys: list[VirtualKey] = []
        seen_names: set[str] = set()
        seen_keys: set[str] = {master}
        for i, raw in enumerate(value):
            where = f"keys[{i}]"
            entry = self.mapping(where, raw, required=True)
            self.known(where, entry, {"name", "key", "models", "rpm", "tpm"})
            name = self.text(f"{where}.name", entry.get("name"))
            assert name is not None
            if name in seen_names:
                raise self.error(f"{where}.name", f"the name {name!r} is used twice.")
            seen_names.add(name)
            key = self.secret(f"{where}.key", entry.get("key"))
            if key in seen_keys:
                raise self.error(
                    f"{where}.key", "this key is already used by the master key or another key."
                )
            seen_keys.add(key)
            models = entry.get("models")
            if not isinstance(models, list) or not models:
                raise self.error(
                    f"{where}.models",
                    "must list the model names this key may call.",
                    "Use ['*'] for every model.",
                )
            allowed: frozenset[str] | None = frozenset(str(m) for m in models)
            assert allowed is not None
            if "*" in allowed:
                allowed = None
            else:
                for m in sorted(allowed - names):
                    raise self.error(
                        f"{where}.models",
                        f"{m!r} is not a model_name in model_list.",
                        f"Served: {', '.join(sorted(names))}.",
                    )
            rpm = entry.get("rpm")
            rpm = None if rpm is None else self.number(f"{where}.rpm", rpm, minimum=1, integer=True)
            tpm = entry.get("tpm")
            if tpm is not None:
                tpm = self.number(f"{where}.tpm", tpm, minimum=1, integer=True, maximum=MAX_TPM)
            keys.append(VirtualKey(name, key, allowed, rpm, tpm))
        return tuple(keys)

    def warn_tokenless(
        self, keys: tuple[VirtualKey, ...], deployments: tuple[Deployment, ...]
    ) -> None:
        """Warn about a key whose `tpm` can count nothing: every model it may call is served
        by providers that report no tokens (`tokens.NO_TOKEN_PROVIDERS`)."""
        providers: dict[str, set[str]] = {}
        for d in deployments:
            providers.setdefault(d.model_name, set()).add(d.model.partition("/")[0])
        for key in keys:
            if key.tpm is None:
                continue
            names = providers.keys() if key.models is None else key.models
            reached = set().union(*(providers.get(n, set()) for n in names))
            if reached and reached <= NO_TOKEN_PROVIDERS:
                logger.warning(
                    "%s: key %r sets tpm, but every model it may call is served by %s, "
                    "which report no tokens: its tpm counts nothing and never limits it",
                    self.source,
                    key.name,
                    ", ".join(sorted(reached)),
                )

    def router(self, value: Any, names: set[str]) -> RouterSettings:
        where = "router_settings"
        data = self.mapping(where, value)
        self.known(
            where,
            data,
            {
                "num_retries",
                "timeout",
                "fallbacks",
                "routing_strategy",
                "retry_backoff",
                "retry_backoff_max",
                "max_retry_after",
                "max_retry_wait",
                "failure_rate_threshold",
                "minimum_requests",
                "failure_window",
                "allowed_fails",
                "cooldown_time",
                "max_cooldown_time",
                "max_ejection_percent",
                "half_open_requests",
                *_REDIS_FIELDS,
            },
        )
        defaults = RouterSettings()
        strategy = data.get("routing_strategy", defaults.routing_strategy)
        if strategy not in _STRATEGIES:
            raise self.error(
                f"{where}.routing_strategy",
                f"{strategy!r} is not a known strategy.",
                f"Use one of: {', '.join(_STRATEGIES)}.",
            )

        def num(name: str, minimum: float, integer: bool = False) -> Any:
            if data.get(name) is None:
                return getattr(defaults, name)
            return self.number(f"{where}.{name}", data[name], minimum=minimum, integer=integer)

        return RouterSettings(
            num_retries=num("num_retries", 0, True),
            timeout=num("timeout", 0.001),
            fallbacks=self.fallbacks(data.get("fallbacks"), names),
            routing_strategy=_STRATEGIES[strategy],
            retry_backoff=num("retry_backoff", 0),
            retry_backoff_max=num("retry_backoff_max", 0),
            max_retry_after=num("max_retry_after", 0),
            max_retry_wait=num("max_retry_wait", 0),
            failure_rate_threshold=self.share(where, data, "failure_rate_threshold"),
            minimum_requests=num("minimum_requests", 1, True),
            failure_window=num("failure_window", 0.001),
            allowed_fails=num("allowed_fails", 1, True),
            cooldown_time=num("cooldown_time", 0),
            max_cooldown_time=num("max_cooldown_time", 0),
            max_ejection_percent=100 * self.share(where, data, "max_ejection_percent", 100),
            half_open_requests=num("half_open_requests", 1, True),
        )

    def share(self, where: str, data: Mapping[str, Any], name: str, scale: float = 1) -> float:
        """A share in (0, 1] (`scale=100`: a percentage in (0, 100]), as a fraction."""
        default = getattr(RouterSettings(), name)
        if data.get(name) is None:
            return float(default) / scale
        value = self.number(f"{where}.{name}", data[name], minimum=0) / scale
        if not 0 < value <= 1:
            raise self.error(
                f"{where}.{name}",
                f"must be above 0 and at most {scale:g}, got {data[name]!r}.",
            )
        return float(value)

    def fallbacks(self, value: Any, names: set[str]) -> dict[str, tuple[str, ...]]:
        """`[{a: [b, c]}, ...]` (the gateway shape) or `{a: [b, c]}`."""
        where = "router_settings.fallbacks"
        if value is None:
            return {}
        items = value if isinstance(value, list) else [value]
        result: dict[str, tuple[str, ...]] = {}
        for i, item in enumerate(items):
            iwhere = f"{where}[{i}]" if isinstance(value, list) else where
            for name, raw in self.mapping(iwhere, item, required=True).items():
                targets = [raw] if isinstance(raw, str) else raw
                if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
                    raise self.error(f"{iwhere}.{name}", "must be a list of model names.")
                for model in [name, *targets]:
                    if model not in names:
                        raise self.error(
                            f"{iwhere}.{name}",
                            f"{model!r} is not a model_name in model_list.",
                            f"Served: {', '.join(sorted(names))}.",
                        )
                result[name] = tuple(t for t in targets if t != name)
        return result

    def limits(self, value: Any) -> Limits:
        where = "limits"
        data = self.mapping(where, value)
        defaults = Limits()
        allowed = set(Limits.__dataclass_fields__)
        self.known(where, data, allowed)
        kwargs: dict[str, Any] = {}
        for name in allowed:
            if data.get(name) is not None:
                integer = name != "request_timeout"
                kwargs[name] = self.number(
                    f"{where}.{name}", data[name], minimum=1 if integer else 0.001, integer=integer
                )
        return Limits(**{**{n: getattr(defaults, n) for n in allowed}, **kwargs})


def _provider_params(deployment: Deployment) -> dict[str, Any]:
    """A deployment's provider parameters, without the call settings kept beside them."""
    return {k: v for k, v in deployment.params.items() if k not in _CALL_SETTINGS}


def _score_kind(deployment: Deployment, registry: ProviderRegistry) -> str:
    """The score kind a deployment's answers carry, after its `normalize`."""
    prefix, _, rest = deployment.model.partition("/")
    request = ProviderRequest(prefix, rest, "q", ("d",), params=_provider_params(deployment))
    kind = registry.get(prefix).score_kind_for(request)
    return score_kind_after(kind, deployment.params.get("normalize"))


def _replace_id(deployment: Deployment, ident: str) -> Deployment:
    return replace(deployment, id=ident)


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, str):
        return f"the string {value!r}"
    return f"{type(value).__name__} {value!r}"[:80]


def read_server_settings(reader: ConfigReader, value: Any) -> ServerSettings:
    """`server_settings` from the config file, each field checked (file, field and fix)."""
    where = "server_settings"
    data = reader.mapping(where, value)
    reader.known(where, data, {f.name for f in fields(ServerSettings)})
    given: dict[str, Any] = {}
    for name, raw in data.items():
        if raw is None:
            continue
        integer, minimum = MINIMUM[name]
        given[name] = reader.number(f"{where}.{name}", raw, minimum=minimum, integer=integer)
        problem = setting_problem(name, given[name])
        if problem:
            raise reader.error(f"{where}.{name}", f"{problem}, got {raw!r}.")
    return ServerSettings(**given)


def load_config(
    path: str | os.PathLike[str],
    *,
    registry: ProviderRegistry | None = None,
    environ: Mapping[str, str] | None = None,
    master_key: str | None = None,
) -> ProxyConfig:
    """Read, resolve and check the YAML file at `path`.

    `master_key` is used when the file configures none (else one is generated).
    """
    source = str(path)
    try:
        import yaml
    except ImportError:
        raise ConfigurationError(
            "Reading a proxy config needs PyYAML: pip install 'rerankit[proxy]'."
        ) from None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ProxyConfigError(
            source, "", f"cannot read the file ({exc.strerror or exc}).", "Check the path."
        ) from None
    try:
        # libyaml's loader when PyYAML has it: the pure-Python one is slow at start-up.
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProxyConfigError(
            source, where, f"the file is not valid YAML ({problem}).", "Fix the syntax there."
        ) from None
    return parse_config(
        data, source=source, registry=registry, environ=environ, master_key=master_key
    )


def default_config(
    *, registry: ProviderRegistry | None = None, master_key: str | None = None
) -> ProxyConfig:
    """Serve every installed provider: one wildcard deployment `prefix/*` per prefix."""
    registry = registry or default_registry()
    deployments = tuple(
        Deployment(id=f"{p}/*", model_name=f"{p}/*", model=f"{p}/*", source="<default>")
        for p in registry.prefixes()
    )
    key = master_key or generate_key()
    return ProxyConfig(deployments, key, generated_master_key=master_key is None)


def with_environment_redis(
    config: ProxyConfig, environ: Mapping[str, str] | None = None
) -> ProxyConfig:
    """`config` with the Redis `RERANKIT_REDIS_URL` names, when its file names none.

    A setting of the process, like its port: `rerankit serve` applies it to the file's
    configuration (or the default one); the file wins when both name a Redis.
    """
    environ = os.environ if environ is None else environ
    url = environ.get(ENV_REDIS_URL)
    if config.redis is not None or not url:
        return config
    reader = ConfigReader(config.source, environ)
    return replace(config, redis=reader.redis_url(f"the environment variable {ENV_REDIS_URL}", url))


def parse_config(
    data: Any,
    *,
    source: str = "<config>",
    registry: ProviderRegistry | None = None,
    environ: Mapping[str, str] | None = None,
    master_key: str | None = None,
) -> ProxyConfig:
    """Check an already-parsed configuration mapping (the YAML file's content)."""
    reader = ConfigReader(source, os.environ if environ is None else environ)
    return reader.config(data, registry or default_registry(), master_key)
