"""Provider parameters behind the proxy: the one place the proxy checks them.

A deployment's parameters (`truncate: END` in the config file) are checked at start-up,
a caller's (a `truncate` field in the request body) on each request, and a fallback gets
only the caller's parameters its own provider takes. All three ask `ProviderParams`,
built from the provider's `params` (its `rerankit.Param` specs), so a name or value
accepted in one place is accepted in the others. The SDK's client checks the merged
parameters once more before the upstream call, with the same `Param.validate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rerankit.provider import CALL_ARGUMENTS, Param, Provider

__all__ = ["ProviderParams", "RESERVED_PARAMS"]

#: Names never taken as provider parameters: the call's own arguments
#: (`rerankit.provider.CALL_ARGUMENTS`), which a deployment sets as its own fields, and the
#: HTTP client's options, which only the proxy chooses.
RESERVED_PARAMS = CALL_ARGUMENTS | {
    "base_url",
    "params",
    "transport",
    "http_client",
    "headers",
    "extra_headers",
}


class ProviderParams:
    """The parameters one provider takes behind the proxy, and their checks."""

    __slots__ = ("specs",)

    def __init__(self, provider: Provider) -> None:
        #: Name -> spec, without the reserved names.
        self.specs: Mapping[str, Param] = {
            k: v for k, v in provider.params.items() if k not in RESERVED_PARAMS
        }

    def unknown(self, params: Mapping[str, Any]) -> str | None:
        """The first name in `params` this provider does not take, or None."""
        return next((name for name in params if name not in self.specs), None)

    def check(self, params: Mapping[str, Any]) -> None:
        """Validate every value; `rerankit.errors.InvalidParameterError` names the first
        bad one. Call `unknown` first: an unknown name is reported with what is accepted."""
        for name, value in params.items():
            self.specs[name].validate(name, value)

    def taken_from(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters of `params` this provider takes (what a fallback is given)."""
        return {k: v for k, v in params.items() if k in self.specs}

    def names(self) -> list[str]:
        """The accepted names, sorted (for messages)."""
        return sorted(self.specs)
