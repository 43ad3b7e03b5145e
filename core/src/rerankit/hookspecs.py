"""The hooks a rerankit plugin can implement, and the markers to implement them.

A plugin is a module (or object) registered through the `rerankit` entry-point group:

```toml
[project.entry-points.rerankit]
my_provider = "my_package.plugin"
```

and implementing hooks with `@rerankit.hookimpl`. An implementation may take fewer
arguments than the spec, so hooks can gain arguments without breaking plugins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .provider import Provider

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec", "RegisterProvider"]

PROJECT_NAME = "rerankit"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

#: The callback passed to `register_providers`: `register(prefix, provider)`.
RegisterProvider = Callable[[str, "Provider"], None]


@hookspec
def register_providers(register: RegisterProvider) -> None:
    """Register rerank providers: call `register(prefix, provider)` once per prefix.

    `prefix` is the part of a model string before the first `/` (`[a-z0-9_]+`), and
    `provider` an instance of `rerankit.HttpProvider` or `rerankit.LocalProvider`.
    One plugin may register several prefixes. A prefix claimed by two plugins is an
    error naming both.
    """
