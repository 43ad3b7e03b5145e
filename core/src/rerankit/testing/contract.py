"""`ProviderContract`: the tests every rerankit provider must pass, inherited by subclassing.

```py
from rerankit.testing import ProviderContract

from rerankit_acme import AcmeProvider


class TestAcmeContract(ProviderContract):
    provider = AcmeProvider()
    prefix = "acme"
    model = "rerank-1"
    plugin = "rerankit_acme"

    def answer(self, scores, request):
        return {"results": [{"index": i, "relevance_score": s} for i, s in scores]}
```

pytest collects the inherited `test_*` methods. HTTP tests run through `rerankit.Client`
against a `FakeUpstream` that finds the contract's documents in each request and answers
with `answer(...)`, the provider's own wire shape. A `LocalProvider` skips the tests that
need HTTP. The test list and what each checks: docs/writing-a-provider.md.
"""

from __future__ import annotations

from ._suite.base import ContractBase
from ._suite.parsing import ParsingTests
from ._suite.redaction import RedactionTests
from ._suite.requests import RequestTests
from ._suite.results import ResultTests
from ._suite.routing import RoutingTests

__all__ = ["ProviderContract"]


class ProviderContract(
    RoutingTests, RequestTests, ParsingTests, ResultTests, RedactionTests, ContractBase
):
    """Subclass as `Test...` and set `provider` and `prefix` (and `answer` for HTTP).

    Class attributes to set:

    - `provider`: an instance of your `HttpProvider` or `LocalProvider`.
    - `prefix`: the prefix your plugin registers.
    - `model`: a model name your provider accepts (the part after `prefix/`).
    - `plugin`: the import name of the module your `rerankit` entry point names (the one
      with the `register_providers` hookimpl); `None` skips the registration tests.
    - `api_base`: the base URL the tests pass as `api_base=`; requests must go under it.
    - `api_key`: the key the tests pass; it must be sent, and never leak.

    Methods to override: `answer` (required for HTTP providers: your upstream's success
    body), `error_body` (your upstream's error body), `request_documents` (only if your
    requests do not carry the documents as JSON strings).
    """
