"""Plugin loading through entry points, restriction by env, duplicates, registration rules."""

from __future__ import annotations

import os
import subprocess
import sys
import types

import pluggy
import pytest

from rerankit import LocalProvider, Ranking, hookimpl, hookspecs
from rerankit.errors import DuplicateProviderError, PluginLoadError, UnknownProviderError
from rerankit.hookspecs import PROJECT_NAME
from rerankit.registry import ProviderRegistry


class Constant(LocalProvider):
    def rerank(self, request):
        return Ranking([(i, 0.0) for i in range(len(request.documents))])


def plugin(name: str, *prefixes: str) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def register_providers(register):
        for prefix in prefixes:
            register(prefix, Constant())

    module.register_providers = register_providers  # type: ignore[attr-defined]
    return module


def manager(*plugins: types.ModuleType) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    for p in plugins:
        pm.register(p, name=p.__name__)
    return pm


def test_one_plugin_may_register_several_prefixes():
    reg = ProviderRegistry.from_plugins(manager(plugin("multi", "one", "two")))
    assert reg.prefixes() == ["one", "two"]
    assert {e.plugin for e in reg.entries()} == {"multi"}


def test_duplicate_prefix_names_both_plugins():
    with pytest.raises(DuplicateProviderError) as info:
        ProviderRegistry.from_plugins(manager(plugin("first_pl", "x"), plugin("second_pl", "x")))
    message = str(info.value)
    assert "first_pl" in message and "second_pl" in message and "'x'" in message


@pytest.mark.parametrize("prefix", ["Upper", "with-dash", "with/slash", "", "sp ace"])
def test_invalid_prefixes_are_rejected(prefix):
    with pytest.raises(PluginLoadError, match="invalid prefix"):
        ProviderRegistry.from_plugins(manager(plugin("bad", prefix)))


def test_registering_a_non_provider_is_rejected():
    module = types.ModuleType("junk")

    @hookimpl
    def register_providers(register):
        register("junk", object())

    module.register_providers = register_providers  # type: ignore[attr-defined]
    with pytest.raises(PluginLoadError, match=r"not a rerankit\.HttpProvider"):
        ProviderRegistry.from_plugins(manager(module))


def test_plugin_failing_in_hook_is_named():
    module = types.ModuleType("broken")

    @hookimpl
    def register_providers(register):
        raise RuntimeError("boom")

    module.register_providers = register_providers  # type: ignore[attr-defined]
    with pytest.raises(PluginLoadError, match="'broken' failed in register_providers"):
        ProviderRegistry.from_plugins(manager(module))


def test_hookimpl_may_take_no_arguments():
    module = types.ModuleType("lazy")
    calls = []

    @hookimpl
    def register_providers():
        calls.append(1)

    module.register_providers = register_providers  # type: ignore[attr-defined]
    assert ProviderRegistry.from_plugins(manager(module)).prefixes() == []
    assert calls == [1]


def test_unknown_prefix_with_nothing_installed():
    with pytest.raises(UnknownProviderError, match="Installed prefixes: none"):
        ProviderRegistry().get("nvidia_nim")


def providers_in_subprocess(**env: str) -> str:
    code = (
        "from rerankit.registry import default_registry as d; "
        "print(','.join(e.prefix + ':' + str(e.distribution) for e in d().entries()))"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("RERANKIT_")}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**environ, **env}
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_installed_plugins_load_through_entry_points():
    found = providers_in_subprocess().split(",")
    assert "local:rerankit" in found
    assert "nvidia_nim:rerankit-nvidia-nim" in found


def test_load_plugins_env_restricts_loading():
    assert providers_in_subprocess(RERANKIT_LOAD_PLUGINS="local") == "local:rerankit"
    assert providers_in_subprocess(RERANKIT_LOAD_PLUGINS="") == ""
    assert providers_in_subprocess(RERANKIT_LOAD_PLUGINS=" nvidia_nim , local ") == (
        "local:rerankit,nvidia_nim:rerankit-nvidia-nim"
    )


def test_trace_env_traces_hook_calls():
    code = "from rerankit.registry import default_registry as d; d()"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "RERANKIT_TRACE_HOOKS": "1", "RERANKIT_LOAD_PLUGINS": "local"},
    )
    assert "register_providers" in result.stderr
