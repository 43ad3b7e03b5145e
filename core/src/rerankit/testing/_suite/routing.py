"""Routing and description: the prefix, the hook, the entry point, the attributes."""

from __future__ import annotations

import re

from ...provider import HttpProvider, LocalProvider, Param
from ...registry import PREFIX_PATTERN, ProviderRegistry
from .base import ContractBase

__all__ = ["RoutingTests"]

_ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_SCORE_KINDS = ("probability", "logit", "bm25", "unknown")


class RoutingTests(ContractBase):
    """Routing and description: the prefix, the hook, the entry point, the attributes."""

    def test_contract_is_configured(self) -> None:
        """The subclass names a provider instance, its prefix and a model."""
        assert isinstance(getattr(self, "provider", None), HttpProvider | LocalProvider), (
            "Set `provider` to an instance of your HttpProvider or LocalProvider subclass."
        )
        assert isinstance(getattr(self, "prefix", None), str), "Set `prefix` to your prefix."
        assert self.model, "Set `model` to a model name your provider accepts."
        if isinstance(self.provider, HttpProvider):
            assert type(self).answer is not ContractBase.answer, (
                "Define answer(scores, request) returning your upstream's success body."
            )

    def test_prefix_is_valid_and_resolves(self) -> None:
        """The prefix is `[a-z0-9_]+`, and a registry routes `prefix/model` to the provider."""
        assert PREFIX_PATTERN.fullmatch(self.prefix), (
            f"Prefix {self.prefix!r} must be lower-case letters, digits and '_'."
        )
        found_prefix, found, rest = self._registry().resolve(self._full_model)
        assert (found_prefix, rest) == (self.prefix, self.model)
        assert found is self.provider

    def test_plugin_hook_registers_the_prefix(self) -> None:
        """The plugin module's `register_providers` hook registers this prefix."""
        module = self._plugin_module()
        manager = self._plugin_manager()
        manager.register(module, name=self.plugin)
        registry = ProviderRegistry.from_plugins(manager)
        assert self.prefix in registry.prefixes(), (
            f"{self.plugin}.register_providers did not register {self.prefix!r}; "
            f"it registered {registry.prefixes()}."
        )
        assert type(registry.get(self.prefix)) is type(self.provider)

    def test_installed_entry_point_resolves_the_prefix(self) -> None:
        """An installed `rerankit` entry point names the plugin module and registers it."""
        self._plugin_module()
        from importlib.metadata import entry_points

        from ...plugins import ENTRY_POINT_GROUP

        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.module == self.plugin]
        assert found, (
            f"No installed entry point in group {ENTRY_POINT_GROUP!r} points at "
            f"{self.plugin!r}. Add to pyproject.toml:\n[project.entry-points.rerankit]\n"
            f'{self.prefix} = "{self.plugin}"\nthen reinstall the package.'
        )
        # Only this plugin's entry points: another installed plugin cannot fail this test.
        manager = self._plugin_manager()
        for ep in found:
            manager.register(ep.load(), name=ep.name)
        registry = ProviderRegistry.from_plugins(manager)
        assert type(registry.get(self.prefix)) is type(self.provider)

    def test_description_is_sane(self) -> None:
        """Name, score kind, environment variables and parameters are well formed."""
        provider = self.provider
        assert isinstance(provider.name, str), "Set `name` to a readable string."
        assert provider.name.strip(), "Set `name` to a readable string."
        assert provider.score_kind in _SCORE_KINDS, f"score_kind must be one of {_SCORE_KINDS}."
        for env in provider.env_vars():
            assert _ENV_NAME.fullmatch(env), f"{env!r} is not an environment variable name."
        assert isinstance(provider.api_base_env, tuple), "api_base_env must be a tuple."
        reserved = {"top_n", "return_documents", "api_key", "api_base", "model", "query"}
        for name, spec in provider.params.items():
            assert isinstance(spec, Param), f"params[{name!r}] must be a rerankit.Param."
            assert name.isidentifier(), f"Parameter name {name!r} must be an identifier."
            assert name not in reserved, f"Parameter {name!r} shadows a unified parameter."
        models = provider.known_models
        assert isinstance(models, tuple), "known_models must be a tuple of model names."
        for model in models:
            assert isinstance(model, str), f"known_models has {model!r}, not a name."
            assert model.strip(), "known_models has an empty name."
            assert not model.startswith(f"{self.prefix}/"), (
                f"known_models lists names without the prefix: {model!r}."
            )

    def test_max_documents_per_request_is_sane(self) -> None:
        """The per-request limit is None (none documented) or a whole number >= 1."""
        limit = self.provider.max_documents_per_request
        assert limit is None or (type(limit) is int and limit >= 1), (
            f"max_documents_per_request must be None or an int >= 1, got {limit!r}."
        )
