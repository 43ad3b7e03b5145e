"""The plugin manager and the loader of `rerankit` entry points.

Plugins load lazily, once, on the first provider lookup, not at import. Environment:

- `RERANKIT_LOAD_PLUGINS`: when set, a comma-separated list of entry-point names to load
  (empty: load none). Unset: load all installed.
- `RERANKIT_TRACE_HOOKS`: when set to a non-empty value, hook calls are traced to stderr.
"""

from __future__ import annotations

import os
import sys
import threading
from importlib.metadata import entry_points

import pluggy

from . import hookspecs
from .errors import PluginLoadError
from .lifecycle import Lifecycle

__all__ = [
    "ENTRY_POINT_GROUP",
    "get_plugin_manager",
    "get_lifecycle",
    "refresh_lifecycle",
    "register_plugin",
    "unregister_plugin",
    "plugin_distribution",
    "reset_plugin_manager",
]

ENTRY_POINT_GROUP = "rerankit"

_lock = threading.Lock()
_pm: pluggy.PluginManager | None = None
_lifecycle: Lifecycle | None = None
#: Plugin name -> (distribution name, version), for the plugins loaded from entry points.
_distributions: dict[str, tuple[str, str]] = {}


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with entry points loaded on first call."""
    global _pm
    if _pm is None:
        with _lock:
            if _pm is None:
                _pm = _load()
    return _pm


def get_lifecycle() -> Lifecycle:
    """The life-cycle hooks of the loaded plugins (loads them on first call)."""
    global _lifecycle
    lifecycle = _lifecycle
    if lifecycle is None:
        lifecycle = _lifecycle = Lifecycle(get_plugin_manager())
    return lifecycle


def refresh_lifecycle() -> None:
    """Look the life-cycle hooks up again after registering or removing a plugin in code."""
    global _lifecycle
    _lifecycle = None


def register_plugin(plugin: object, name: str | None = None) -> str:
    """Register `plugin` (a module or object with `@rerankit.hookimpl`s) for the whole process.

    Every client, sync and async, sees its life-cycle hooks from the next call on (the
    installed plugins stay loaded). Returns the name it is registered under. A hook name
    the spec does not know is a `PluginLoadError`.
    """
    pm = get_plugin_manager()
    try:
        registered = pm.register(plugin, name=name)
        pm.check_pending()
    except (ValueError, pluggy.PluginValidationError) as exc:
        if pm.is_registered(plugin):
            pm.unregister(plugin)
        raise PluginLoadError(
            f"The plugin {name or plugin!r} cannot be registered: {exc}"
        ) from None
    refresh_lifecycle()
    return str(registered)


def unregister_plugin(plugin: object | None = None, name: str | None = None) -> None:
    """Undo `register_plugin` (by the object or by its name); unknown ones are ignored."""
    pm = get_plugin_manager()
    if name is not None and pm.get_plugin(name) is not None:
        pm.unregister(name=name)
    elif plugin is not None and pm.is_registered(plugin):
        pm.unregister(plugin)
    refresh_lifecycle()


def plugin_distribution(plugin_name: str) -> tuple[str, str] | None:
    """`(distribution, version)` of an entry-point plugin, or None for one registered in code."""
    return _distributions.get(plugin_name)


def reset_plugin_manager() -> None:
    """Forget loaded plugins; the next lookup loads them again (tests, after installs)."""
    global _pm, _lifecycle
    with _lock:
        _pm = None
        _lifecycle = None
        _distributions.clear()


def _load() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    if os.environ.get("RERANKIT_TRACE_HOOKS"):
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
    wanted = os.environ.get("RERANKIT_LOAD_PLUGINS")
    allowed = None if wanted is None else {n.strip() for n in wanted.split(",") if n.strip()}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if (allowed is not None and ep.name not in allowed) or pm.has_plugin(ep.name):
            continue
        dist = ep.dist
        origin = f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"
        try:
            pm.register(ep.load(), name=ep.name)
        except Exception as exc:
            raise PluginLoadError(
                f"The rerankit plugin {ep.name!r} ({origin}) failed to load: {exc!r}. "
                f"Reinstall or uninstall it, or leave it out with RERANKIT_LOAD_PLUGINS."
            ) from exc
        if dist is not None:
            _distributions[ep.name] = (dist.name, dist.version)
    return pm
