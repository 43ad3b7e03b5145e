"""Deprecated: `local/bm25` ships with rerankit itself since 0.2.0.

This distribution is kept so that existing installs and `import rerankit_local` keep
working; it registers no entry point (the core's `local` plugin serves the prefix, so
installing both is no duplicate). Import from `rerankit.default_plugins.local` instead;
`rerankit-local` will be removed in 0.4.0 (see the deprecation policy in CHANGELOG.md).
"""

from __future__ import annotations

import warnings

from rerankit.default_plugins.local import MODELS, LocalBM25Provider

__all__ = ["MODELS", "LocalBM25Provider"]

warnings.warn(
    "rerankit_local is deprecated: local/bm25 ships with rerankit since 0.2.0. Import "
    "rerankit.default_plugins.local instead and uninstall rerankit-local.",
    DeprecationWarning,
    stacklevel=2,
)
