"""Plugins that ship with rerankit itself, registered through the same `rerankit`
entry-point group as any installed plugin (core's pyproject.toml names them).

- `rerankit.default_plugins.local`: `local/bm25`, Okapi BM25 in pure Python (no key, no
  network), so `pip install rerankit` alone has a working provider.

They load lazily like every plugin (on the first provider lookup, never at
`import rerankit`), obey `RERANKIT_LOAD_PLUGINS` and use only rerankit's public API.
"""
