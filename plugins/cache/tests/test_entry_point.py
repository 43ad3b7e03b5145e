"""The installed entry point: active with RERANKIT_CACHE, hook-free without it."""

from __future__ import annotations

import subprocess
import sys

import pytest

import rerankit
from rerankit.errors import ConfigurationError, PluginLoadError
from rerankit.plugins import get_lifecycle, get_plugin_manager, reset_plugin_manager
from rerankit_cache import ResponseCache, from_environment
from rerankit_cache.entry_point import Inactive


@pytest.fixture
def fresh_plugins():
    reset_plugin_manager()
    yield
    try:
        loaded = get_plugin_manager().get_plugins()
    except PluginLoadError:  # the test left a bad RERANKIT_CACHE behind it
        loaded = set()
    for plugin in loaded:
        if isinstance(plugin, ResponseCache):
            plugin.close()
    reset_plugin_manager()


def test_without_the_variable_the_plugin_has_no_hooks(fresh_plugins):
    plugin = get_plugin_manager().get_plugin("cache")
    assert isinstance(plugin, Inactive)
    assert get_plugin_manager().get_hookcallers(plugin) == []
    assert "RERANKIT_CACHE" in repr(plugin)


def test_with_the_variable_every_client_caches(fresh_plugins, monkeypatch, nim, nim_model):
    monkeypatch.setenv("RERANKIT_CACHE", "memory://?ttl=60&max_entries=5")
    reset_plugin_manager()
    cache = get_plugin_manager().get_plugin("cache")
    assert isinstance(cache, ResponseCache) and cache.ttl == 60
    assert get_lifecycle().active
    with rerankit.Client() as client:  # no plugins= of its own
        client.rerank(nim_model, "gpu", ["a gpu", "cats"])
    with rerankit.Client() as client:
        assert client.rerank(nim_model, "gpu", ["a gpu", "cats"], top_n=1).meta.cached is True
    assert nim.post_count == 1 and cache.hits == 1


def test_a_bad_variable_fails_plugin_loading_clearly(fresh_plugins, monkeypatch):
    monkeypatch.setenv("RERANKIT_CACHE", "memory://?tll=60")
    reset_plugin_manager()
    with pytest.raises(PluginLoadError, match=r"RERANKIT_CACHE is not a usable cache.*'tll'"):
        get_plugin_manager()


def test_from_environment_reads_the_mapping_given():
    assert isinstance(from_environment({}), Inactive)
    assert isinstance(from_environment({"RERANKIT_CACHE": "  "}), Inactive)
    cache = from_environment({"RERANKIT_CACHE": "memory://?ttl=5"})
    assert isinstance(cache, ResponseCache) and cache.ttl == 5
    with pytest.raises(ConfigurationError, match="RERANKIT_CACHE"):
        from_environment({"RERANKIT_CACHE": "ftp://x"})


def test_importing_the_package_does_not_import_redis():
    code = "import sys, rerankit_cache; print('redis' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
