"""Cache URLs and `cache_from_config`: what each shape builds, and what is refused."""

from __future__ import annotations

import pytest

from rerankit.errors import ConfigurationError
from rerankit_cache import (
    MemoryBackend,
    RedisBackend,
    ResponseCache,
    SQLiteBackend,
    cache_from_config,
    cache_from_url,
)


def test_memory_url_with_options():
    cache = cache_from_url("memory://?max_entries=10&max_bytes=5000&ttl=60")
    assert isinstance(cache.backend, MemoryBackend)
    assert (cache.backend.max_entries, cache.backend.max_bytes) == (10, 5000)
    assert cache.ttl == 60


def test_sqlite_url_absolute_and_relative(tmp_path, monkeypatch):
    cache = cache_from_url(f"sqlite://{tmp_path}/a.db?ttl=5&max_entries=3&timeout=0.5")
    assert isinstance(cache.backend, SQLiteBackend)
    assert cache.backend.path == tmp_path / "a.db"
    assert (cache.ttl, cache.backend.max_entries, cache.backend.timeout) == (5, 3, 0.5)
    cache.close()
    monkeypatch.chdir(tmp_path)
    relative = cache_from_url("sqlite:rel.db")
    assert relative.backend.path.name == "rel.db" and (tmp_path / "rel.db").is_file()
    relative.close()


def test_redis_url_parts_reach_the_client():
    cache = cache_from_url("redis://:p%40ss@cache.internal:6380/2?timeout=0.2&namespace=t1:")
    backend = cache.backend
    assert isinstance(backend, RedisBackend)
    kwargs = backend.client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("cache.internal", 6380, 2)
    assert kwargs["password"] == "p@ss"
    assert kwargs["socket_timeout"] == kwargs["socket_connect_timeout"] == 0.2
    assert cache.namespace == "t1:"
    assert "p@ss" not in repr(cache) and "p%40ss" not in repr(cache)


def test_redis_defaults_are_local_port_6379_db_0_and_50ms():
    kwargs = cache_from_url("redis://").backend.client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["db"]) == ("localhost", 6379, 0)
    assert kwargs["socket_timeout"] == 0.05


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("memcached://host", "unknown cache URL scheme 'memcached'"),
        ("memory", "unknown cache URL scheme ''"),
        ("memory://?ttl=60&colour=red", "unknown option 'colour' in 'memory://'"),
        (
            "memory://?timeout=1",
            "'timeout' in 'memory://'; memory:// accepts max_bytes, max_entries",
        ),
        ("redis://h?max_entries=5", "unknown option 'max_entries' in 'redis://h'"),
        ("memory://?ttl=0", "ttl must be > 0"),
        ("memory://?ttl=-1", "ttl must be > 0"),
        ("memory://?ttl=soon", "ttl must be a number"),
        ("memory://?ttl=nan", "ttl must be a number"),
        ("memory://?ttl=1&ttl=2", "ttl is given twice"),
        ("memory://?max_entries=0", "max_entries must be >= 1"),
        ("memory://?max_entries=1.5", "max_entries must be a number"),
        ("memory://host", "memory:// takes no host or path"),
        ("sqlite://", "write a SQLite cache as"),
        ("sqlite://host/x.db", "write a SQLite cache as"),
        ("redis://h/zero", "must be a number (/0)"),
        ("redis://h/\u00b2", "must be a number (/0)"),
        ("redis://h:99999", "not a valid URL"),
        ("memory://#frag", "fragment"),
    ],
)
def test_bad_urls_are_refused_clearly(url, message):
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        cache_from_url(url)


def test_a_password_never_shows_in_a_url_error():
    with pytest.raises(ConfigurationError) as caught:
        cache_from_url("redis://:hunter2@h/0?bogus=1")
    assert "hunter2" not in str(caught.value)


def test_options_set_in_the_url_and_as_arguments_are_refused():
    with pytest.raises(ConfigurationError, match="ttl is given both"):
        ResponseCache("memory://?ttl=5", ttl=6)
    assert ResponseCache("memory://", ttl=6).ttl == 6
    assert ResponseCache("memory://?ttl=5").ttl == 5


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ttl": 0}, "ttl must be > 0"),
        ({"retry_after": -1}, "retry_after must be >= 0"),
        ({"max_entry_bytes": 0}, "max_entry_bytes must be >= 1"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        ResponseCache(MemoryBackend(), **kwargs)


def test_an_object_that_is_not_a_backend_is_refused():
    with pytest.raises(ConfigurationError, match="must be a URL or a CacheBackend"):
        ResponseCache(object())  # type: ignore[arg-type]


# -- cache_from_config --------------------------------------------------------------------


def test_native_section_alone():
    cache = cache_from_config({"url": "memory://", "ttl": 30, "max_entries": 7})
    assert isinstance(cache.backend, MemoryBackend)
    assert cache.ttl == 30 and cache.backend.max_entries == 7


def test_native_section_in_a_whole_config(tmp_path):
    cache = cache_from_config(
        {"model_list": [], "cache": {"url": f"sqlite://{tmp_path}/c.db", "namespace": "p:"}}
    )
    assert isinstance(cache.backend, SQLiteBackend) and cache.namespace == "p:"
    cache.close()


def test_no_cache_asked_for_is_none():
    assert cache_from_config({"model_list": []}) is None
    assert cache_from_config({"litellm_settings": {"drop_params": True}}) is None
    assert cache_from_config({"litellm_settings": {"cache": False}}) is None


def test_gateway_shape_local_is_the_memory_backend():
    cache = cache_from_config({"litellm_settings": {"cache": True}})
    assert isinstance(cache.backend, MemoryBackend) and cache.ttl is None
    cache = cache_from_config(
        {"litellm_settings": {"cache": True, "cache_params": {"type": "local", "ttl": 600}}}
    )
    assert isinstance(cache.backend, MemoryBackend) and cache.ttl == 600


def test_gateway_shape_redis():
    config = {
        "litellm_settings": {
            "cache": True,
            "num_retries": 2,  # the proxy's, not the cache's: left alone
            "cache_params": {
                "type": "redis",
                "host": "cache.internal",
                "port": "6380",
                "password": "hunter2",
                "ttl": 60,
                "namespace": "gw:",
                "supported_call_types": ["rerank", "arerank", "completion"],
            },
        }
    }
    cache = cache_from_config(config)
    kwargs = cache.backend.client.connection_pool.connection_kwargs
    assert (kwargs["host"], kwargs["port"], kwargs["password"]) == (
        "cache.internal",
        6380,
        "hunter2",
    )
    assert cache.ttl == 60 and cache.namespace == "gw:"
    assert "hunter2" not in repr(cache)


def test_gateway_call_types_without_rerank_mean_no_cache():
    params = {"type": "local", "supported_call_types": ["completion", "embedding"]}
    assert cache_from_config({"litellm_settings": {"cache": True, "cache_params": params}}) is None


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"litellm_settings": {"cache": "yes"}}, "must be true or false"),
        ({"litellm_settings": {"cache": True, "cache_params": {"type": "s3"}}}, "'s3' is not"),
        (
            {"litellm_settings": {"cache": True, "cache_params": {"type": "local", "host": "h"}}},
            "'host' not supported for type 'local'",
        ),
        (
            {"litellm_settings": {"cache": True, "cache_params": {"type": "redis", "ssl": True}}},
            "'ssl' not supported",
        ),
        (
            {"litellm_settings": {"cache": True, "cache_params": {"ttl": "x"}}},
            "ttl must be a number",
        ),
        ({"litellm_settings": {"cache": True, "cache_params": []}}, "must be a mapping"),
        ({"litellm_settings": []}, "must be a mapping"),
        ({"cache": {"ttl": 5}}, "needs url:"),
        ({"cache": "memory://"}, "must be a mapping with a url"),
        ({"url": "memory://", "colour": "red"}, "unknown option 'colour'"),
        ({"url": "memory://?ttl=1", "ttl": 2}, "ttl is given twice"),
        (
            {"cache": {"url": "memory://"}, "litellm_settings": {"cache": True}},
            "both a cache: section and litellm_settings.cache",
        ),
        ([("url", "memory://")], "must be a mapping"),
    ],
)
def test_bad_configs_are_refused_clearly(config, message):
    with pytest.raises(ConfigurationError, match=message):
        cache_from_config(config)


def test_environment_references_are_resolved():
    config = {
        "litellm_settings": {
            "cache": True,
            "cache_params": {"type": "redis", "password": "os.environ/REDIS_PW", "port": 6390},
        }
    }
    cache = cache_from_config(config, environ={"REDIS_PW": "from-env"})
    assert cache.backend.client.connection_pool.connection_kwargs["password"] == "from-env"
    native = cache_from_config(
        {"cache": {"url": "os.environ/CACHE_URL"}}, environ={"CACHE_URL": "memory://?ttl=9"}
    )
    assert native.ttl == 9
    with pytest.raises(ConfigurationError, match="'REDIS_PW', which is not set"):
        cache_from_config(config, environ={})
