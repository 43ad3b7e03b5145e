"""Test a life-cycle plugin in a few lines: register it for a block, record what hooks saw.

```py
from rerankit.testing import HookRecorder, registered_plugin

def test_my_plugin_sees_each_call():
    recorder = HookRecorder()
    with registered_plugin(my_plugin), registered_plugin(recorder):
        rerankit.Client().rerank("local/bm25", "q", ["a", "b"])
    assert recorder.names() == ["rerank_call_started", "rerank_cached_ranking",
                                "rerank_call_finished"]
```
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..hookspecs import hookimpl
from ..lifecycle import AttemptContext, CallContext
from ..plugins import register_plugin, unregister_plugin

__all__ = ["registered_plugin", "HookRecorder", "HookEvent"]


@contextmanager
def registered_plugin(plugin: object, name: str | None = None) -> Iterator[object]:
    """Register `plugin` (a module or an object with `@hookimpl` methods) for the block.

    Every client sees it at once, sync and async (the installed plugins stay loaded);
    it is unregistered when the block ends, even on failure.
    """
    registered = register_plugin(plugin, name)
    try:
        yield plugin
    finally:
        unregister_plugin(name=registered)


@dataclass(frozen=True, slots=True)
class HookEvent:
    """One life-cycle hook call: its name, the call's context and the attempt's, if any."""

    name: str
    call: CallContext
    attempt: AttemptContext | None = None


@dataclass
class HookRecorder:
    """A life-cycle plugin that records every hook call, in order (register it last)."""

    events: list[HookEvent] = field(default_factory=list)

    def names(self) -> list[str]:
        """The hooks called so far, in order."""
        return [event.name for event in self.events]

    def calls(self) -> list[CallContext]:
        """The contexts of the calls that finished, in order."""
        return [e.call for e in self.events if e.name == "rerank_call_finished"]

    def attempts(self) -> list[AttemptContext]:
        """The contexts of the attempts that finished, in order."""
        return [e.attempt for e in self.events if e.attempt and e.name.endswith("_finished")]

    @hookimpl
    def rerank_call_started(self, call: CallContext) -> None:
        self.events.append(HookEvent("rerank_call_started", call))

    @hookimpl
    def rerank_cached_ranking(self, call: CallContext) -> Any:
        self.events.append(HookEvent("rerank_cached_ranking", call))
        return None

    @hookimpl
    def rerank_attempt_started(self, call: CallContext, attempt: AttemptContext) -> None:
        self.events.append(HookEvent("rerank_attempt_started", call, attempt))

    @hookimpl
    def rerank_attempt_finished(self, call: CallContext, attempt: AttemptContext) -> None:
        self.events.append(HookEvent("rerank_attempt_finished", call, attempt))

    @hookimpl
    def rerank_call_finished(self, call: CallContext) -> None:
        self.events.append(HookEvent("rerank_call_finished", call))
