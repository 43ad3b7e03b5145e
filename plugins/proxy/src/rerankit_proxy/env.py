"""`rerankit serve`'s settings from the environment, for containers.

Precedence, for each setting: the command-line flag, then the environment variable, then
the config file (where the file has the setting), then the default.

| variable | flag | default |
|---|---|---|
| `RERANKIT_CONFIG` | `--config` | every installed provider, no file |
| `RERANKIT_MASTER_KEY` | (none; wins over the file's) | the file's, else generated |
| `RERANKIT_HOST`, else `HOST` | `--host` | `127.0.0.1` |
| `RERANKIT_PORT`, else `PORT` | `--port` | `4000` |
| `RERANKIT_WORKERS` | `--workers` | `1` |
| `RERANKIT_LOG_LEVEL` | `--log-level` | `info` |
| `RERANKIT_LOG_FORMAT` | `--log-format` | `text` |

`PORT` and `HOST` are what platforms that run containers commonly set; the `RERANKIT_`
names win over them when both are set. A bad value is a `ConfigurationError` naming the
variable, before anything listens. An empty variable counts as unset.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from rerankit.errors import ConfigurationError

from .logs import LOG_FORMATS, LOG_LEVELS, LogFormat

__all__ = ["ServeOptions", "serve_options", "master_key_from_environment", "ENV_MASTER_KEY"]

ENV_CONFIG = "RERANKIT_CONFIG"
ENV_MASTER_KEY = "RERANKIT_MASTER_KEY"
ENV_HOSTS = ("RERANKIT_HOST", "HOST")
ENV_PORTS = ("RERANKIT_PORT", "PORT")
ENV_WORKERS = "RERANKIT_WORKERS"
ENV_LOG_LEVEL = "RERANKIT_LOG_LEVEL"
ENV_LOG_FORMAT = "RERANKIT_LOG_FORMAT"
_MIN_KEY_LENGTH = 8
#: Longest value read from a variable (a path, an address): anything longer is a mistake.
_MAX_VALUE = 4096


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """Where and how `rerankit serve` runs, after flags and environment."""

    config: str | None = None
    host: str = "127.0.0.1"
    port: int = 4000
    workers: int = 1
    log_level: str = "info"
    log_format: LogFormat = "text"


def _get(environ: Mapping[str, str], *names: str) -> tuple[str, str] | None:
    """(name, value) of the first of `names` set to something, else None."""
    for name in names:
        value = environ.get(name, "").strip()
        if value:
            if len(value) > _MAX_VALUE:
                raise ConfigurationError(
                    f"The environment variable {name} has {len(value)} characters; "
                    f"at most {_MAX_VALUE} are accepted."
                )
            return name, value
    return None


def _whole(name: str, value: str, low: int, high: int | None, example: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < low or (high is not None and number > high):
        bound = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ConfigurationError(
            f"The environment variable {name} must be a whole number {bound}, got {value!r}: "
            f"e.g. {name}={example}."
        )
    return number


def _choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    if value.lower() not in choices:
        raise ConfigurationError(
            f"The environment variable {name} must be one of {', '.join(choices)}, got {value!r}."
        )
    return value.lower()


def serve_options(flags: Mapping[str, Any], environ: Mapping[str, str]) -> ServeOptions:
    """The options from `flags` (None: not given) over `environ`, over the defaults.

    Every variable that is set is checked, even when a flag overrides it, so a broken
    deployment manifest shows up at once rather than on the day the flag goes away.
    """
    from_env: dict[str, Any] = {}
    found = _get(environ, ENV_CONFIG)
    if found:
        from_env["config"] = found[1]
    found = _get(environ, *ENV_HOSTS)
    if found:
        from_env["host"] = found[1]
    found = _get(environ, *ENV_PORTS)
    if found:
        from_env["port"] = _whole(found[0], found[1], 1, 65535, "4000")
    found = _get(environ, ENV_WORKERS)
    if found:
        from_env["workers"] = _whole(found[0], found[1], 1, None, "2")
    found = _get(environ, ENV_LOG_LEVEL)
    if found:
        from_env["log_level"] = _choice(found[0], found[1], LOG_LEVELS)
    found = _get(environ, ENV_LOG_FORMAT)
    if found:
        from_env["log_format"] = _choice(found[0], found[1], LOG_FORMATS)
    given = {name: value for name, value in flags.items() if value is not None}
    merged = {**from_env, **given}
    if "log_format" in merged:
        merged["log_format"] = cast(LogFormat, merged["log_format"])
    return ServeOptions(**merged)


def master_key_from_environment(environ: Mapping[str, str]) -> str | None:
    """`RERANKIT_MASTER_KEY`, checked (8+ characters, no spaces), or None when unset."""
    found = _get(environ, ENV_MASTER_KEY)
    if found is None:
        return None
    key = found[1]
    spaced = key != environ[ENV_MASTER_KEY] or any(c.isspace() for c in key)
    if len(key) < _MIN_KEY_LENGTH or spaced:
        # Never echo the value: it is a key.
        raise ConfigurationError(
            f"The environment variable {ENV_MASTER_KEY} must be a key of at least "
            f"{_MIN_KEY_LENGTH} characters without spaces: e.g. from `python -c 'import "
            "secrets; print(secrets.token_urlsafe(32))'`."
        )
    return key
