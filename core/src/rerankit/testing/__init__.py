"""The plugin author's test kit: a provider contract suite and a fake upstream.

```py
from rerankit.testing import ProviderContract


class TestAcmeContract(ProviderContract):
    provider = AcmeProvider()
    prefix = "acme"

    def answer(self, scores, request):
        return {"results": [{"index": i, "relevance_score": s} for i, s in scores]}
```

Public names: `ProviderContract` (subclass it in a `Test...` class; pytest collects the
inherited tests), `FakeUpstream` (an in-process upstream for `Client(transport=...)`:
canned answers, recorded requests) and `CannedResponse` (one answer: status, headers,
body); for life-cycle plugins, `registered_plugin` (register one for a `with` block) and
`HookRecorder` (a plugin recording every hook call, as `HookEvent`s). Needs pytest
(`pip install 'rerankit[testing]'`). Names load on first use, so the pytest plugin
(`rerankit.testing.plugin`) costs nothing to tests that do not use them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = [
    "ProviderContract",
    "FakeUpstream",
    "CannedResponse",
    "registered_plugin",
    "HookRecorder",
    "HookEvent",
]

_LOCATIONS = {
    "ProviderContract": ".contract",
    "FakeUpstream": ".upstream",
    "CannedResponse": ".upstream",
    "registered_plugin": ".lifecycle",
    "HookRecorder": ".lifecycle",
    "HookEvent": ".lifecycle",
}


def __getattr__(name: str) -> Any:
    module = _LOCATIONS.get(name)
    if module is None:
        raise AttributeError(f"module 'rerankit.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    from .contract import ProviderContract
    from .lifecycle import HookEvent, HookRecorder, registered_plugin
    from .upstream import CannedResponse, FakeUpstream
