"""rerankit-cache: an exact-match response cache for rerankit, as a life-cycle plugin.

```py
import rerankit
from rerankit_cache import ResponseCache

client = rerankit.Client(plugins=[ResponseCache("memory://?ttl=600")])
```

Installed, it also caches every call of the process when `RERANKIT_CACHE` is set to a
cache URL (`memory://`, `sqlite:///path/to.db`, `redis://host:port/0`); unset, it
implements no hook and costs nothing. See docs/cache.md.
"""

from __future__ import annotations

from .backends import CacheBackend, MemoryBackend, RedisBackend, SQLiteBackend
from .codec import CorruptEntry, decode_ranking, encode_ranking
from .config import cache_from_config, cache_from_url, parse_cache_url
from .entry_point import ENV_VAR, from_environment
from .key import KEY_PREFIX, cache_key, canonical_request
from .plugin import ResponseCache

__version__ = "0.2.0"

__all__ = [
    "__version__",
    "ResponseCache",
    "cache_from_url",
    "cache_from_config",
    "parse_cache_url",
    "from_environment",
    "ENV_VAR",
    "CacheBackend",
    "MemoryBackend",
    "SQLiteBackend",
    "RedisBackend",
    "cache_key",
    "canonical_request",
    "KEY_PREFIX",
    "encode_ranking",
    "decode_ranking",
    "CorruptEntry",
]
