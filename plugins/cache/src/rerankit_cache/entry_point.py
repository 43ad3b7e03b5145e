"""The `rerankit` entry point: a cache from `RERANKIT_CACHE`, or an object with no hooks.

The entry point names `rerankit_cache.entry_point:plugin`, an attribute computed when
rerankit loads its plugins (module `__getattr__`), so the environment is read then and
again after `rerankit.plugins.reset_plugin_manager()`. Unset or empty, the plugin
implements no hook: clients build no call context and the cost is nil.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Mapping
from typing import Any

from rerankit.errors import ConfigurationError

from .config import cache_from_url

__all__ = ["ENV_VAR", "Inactive", "from_environment"]

ENV_VAR = "RERANKIT_CACHE"


class Inactive:
    """What the entry point loads when `RERANKIT_CACHE` is unset: no hooks at all."""

    def __repr__(self) -> str:
        return f"rerankit-cache (inactive: set {ENV_VAR} to a cache URL)"


def from_environment(environ: Mapping[str, str] = os.environ) -> object:
    """A `ResponseCache` from `RERANKIT_CACHE`, closed at exit; `Inactive()` when unset.

    A URL that cannot be used raises `ConfigurationError` naming the variable (rerankit
    then reports the plugin as failing to load, rather than caching silently nothing).
    """
    url = environ.get(ENV_VAR, "").strip()
    if not url:
        return Inactive()
    try:
        cache = cache_from_url(url)
    except ConfigurationError as exc:
        raise ConfigurationError(f"{ENV_VAR} is not a usable cache: {exc}") from None
    atexit.register(cache.close)
    return cache


def __getattr__(name: str) -> Any:
    if name == "plugin":
        return from_environment()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
