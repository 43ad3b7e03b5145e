"""The provider registry and the prefix router.

`nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2` is split on its first `/`: the prefix
`nvidia_nim` names the provider, the rest is the provider's own model name.
"""

from __future__ import annotations

import difflib
import re
import threading
from dataclasses import dataclass

import pluggy

from .errors import (
    DuplicateProviderError,
    InvalidModelError,
    PluginLoadError,
    UnknownProviderError,
)
from .provider import Provider

__all__ = [
    "FIRST_PARTY_DISTRIBUTIONS",
    "PREFIX_PATTERN",
    "RegisteredProvider",
    "ProviderRegistry",
    "default_registry",
]

PREFIX_PATTERN = re.compile(r"[a-z0-9_]+")

#: Prefix -> (distribution, extra) of the first-party providers, so that an unknown
#: prefix names what to install. The prefix is not always the distribution's suffix
#: (`jina_ai` is rerankit-jina). `local` is missing: it ships with rerankit itself.
FIRST_PARTY_DISTRIBUTIONS: dict[str, tuple[str, str]] = {
    "nvidia_nim": ("rerankit-nvidia-nim", "nvidia-nim"),
    "cohere": ("rerankit-cohere", "cohere"),
    "jina_ai": ("rerankit-jina", "jina"),
    "voyage": ("rerankit-voyage", "voyage"),
    "mixedbread": ("rerankit-mixedbread", "mixedbread"),
    "together_ai": ("rerankit-together", "together"),
    "pinecone": ("rerankit-pinecone", "pinecone"),
    "tei": ("rerankit-tei", "tei"),
    "infinity": ("rerankit-infinity", "infinity"),
    "hosted_vllm": ("rerankit-vllm", "vllm"),
    "huggingface": ("rerankit-huggingface", "huggingface"),
    "azure_ai": ("rerankit-azure-ai", "azure-ai"),
    "bedrock": ("rerankit-bedrock", "bedrock"),
    "vertex_ai": ("rerankit-vertex-ai", "vertex-ai"),
    "onnx": ("rerankit-onnx", "onnx"),
}


@dataclass(frozen=True, slots=True)
class RegisteredProvider:
    """A provider and where it came from."""

    prefix: str
    provider: Provider
    plugin: str
    distribution: str | None = None
    version: str | None = None

    @property
    def source(self) -> str:
        """The plugin's name, with its distribution when it came from one."""
        return f"{self.plugin} ({self.distribution})" if self.distribution else self.plugin


class ProviderRegistry:
    """Providers by prefix. Build one by hand, or from the installed plugins."""

    def __init__(self) -> None:
        self._entries: dict[str, RegisteredProvider] = {}

    def register(
        self,
        prefix: str,
        provider: Provider,
        *,
        plugin: str = "<code>",
        distribution: str | None = None,
        version: str | None = None,
    ) -> None:
        """Register `provider` under `prefix`; a taken prefix is a `DuplicateProviderError`."""
        if not isinstance(prefix, str) or not PREFIX_PATTERN.fullmatch(prefix):
            raise PluginLoadError(
                f"Plugin {plugin!r} registers the invalid prefix {prefix!r}: "
                f"prefixes are lower-case letters, digits and '_'."
            )
        if not isinstance(provider, Provider):
            raise PluginLoadError(
                f"Plugin {plugin!r} registers {provider!r} under {prefix!r}, which is not a "
                f"rerankit.HttpProvider or rerankit.LocalProvider instance."
            )
        entry = RegisteredProvider(prefix, provider, plugin, distribution, version)
        taken = self._entries.get(prefix)
        if taken is not None:
            raise DuplicateProviderError(prefix, taken.source, entry.source)
        self._entries[prefix] = entry

    def prefixes(self) -> list[str]:
        """The registered prefixes, sorted."""
        return sorted(self._entries)

    def entries(self) -> list[RegisteredProvider]:
        """Every registration, sorted by prefix."""
        return [self._entries[p] for p in self.prefixes()]

    def get(self, prefix: str) -> Provider:
        """The provider under `prefix`; an `UnknownProviderError` lists the installed ones."""
        entry = self._entries.get(prefix)
        if entry is None:
            installed = self.prefixes()
            close = difflib.get_close_matches(prefix, installed, n=1)
            raise _unknown(prefix, installed, close[0] if close else None)
        return entry.provider

    def resolve(self, model: str) -> tuple[str, Provider, str]:
        """Route a model string: `(prefix, provider, model_without_prefix)`."""
        if not isinstance(model, str):
            raise InvalidModelError(f"model must be a string, got {type(model).__name__}.")
        prefix, sep, rest = model.partition("/")
        if not sep or not prefix or not rest:
            raise InvalidModelError(
                f"model {model!r} must have the form '<provider>/<model>', "
                f"e.g. 'local/bm25'. Installed providers: {', '.join(self.prefixes()) or 'none'}."
            )
        return prefix, self.get(prefix), rest

    @classmethod
    def from_plugins(cls, pm: pluggy.PluginManager) -> ProviderRegistry:
        """Collect every provider the plugins of `pm` register, plugin by plugin."""
        from .plugins import plugin_distribution

        registry = cls()
        impls = pm.hook.register_providers.get_hookimpls()
        for impl in impls:
            distribution, version = plugin_distribution(impl.plugin_name) or (None, None)

            def register(
                prefix: str,
                provider: Provider,
                _plugin: str = impl.plugin_name,
                _dist: str | None = distribution,
                _version: str | None = version,
            ) -> None:
                registry.register(
                    prefix, provider, plugin=_plugin, distribution=_dist, version=_version
                )

            others = [i.plugin for i in impls if i is not impl]
            # One call per plugin, through pluggy, so each registration knows its plugin.
            caller = pm.subset_hook_caller("register_providers", remove_plugins=others)
            try:
                caller(register=register)
            except (DuplicateProviderError, PluginLoadError):
                raise
            except Exception as exc:
                raise PluginLoadError(
                    f"Plugin {impl.plugin_name!r} failed in register_providers: {exc!r}"
                ) from exc
        return registry


def _unknown(prefix: str, installed: list[str], suggestion: str | None) -> UnknownProviderError:
    """The error for an unknown prefix; for a first-party one it names what to install."""
    error = UnknownProviderError(prefix, installed, suggestion)
    first_party = FIRST_PARTY_DISTRIBUTIONS.get(prefix)
    if first_party is not None:
        distribution, extra = first_party
        # The generic hint guesses rerankit-<prefix>, wrong for jina_ai, together_ai and
        # hosted_vllm: say exactly which distribution serves this prefix.
        error.args = (
            f"{error.args[0]} The prefix {prefix!r} is served by {distribution}: "
            f"pip install {distribution} (or pip install 'rerankit[{extra}]').",
        )
    return error


_lock = threading.Lock()
_default: ProviderRegistry | None = None


def default_registry() -> ProviderRegistry:
    """The registry of the installed plugins, built on first use."""
    global _default
    if _default is None:
        from .plugins import get_plugin_manager

        with _lock:
            if _default is None:
                _default = ProviderRegistry.from_plugins(get_plugin_manager())
    return _default
