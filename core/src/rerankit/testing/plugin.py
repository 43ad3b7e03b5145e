"""The pytest plugin of `rerankit.testing`, loaded through the `pytest11` entry point.

It costs nothing to test runs that do not use it: it imports no HTTP client and no
provider, and has no autouse fixture. It gives assertion rewriting to the contract suite
(clear diffs in its failures) and one fixture, `rerankit_upstream`, for a plugin's own
tests. Disable it with `-p no:rerankit`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .upstream import FakeUpstream

# Must run before the contract module is first imported (only then can it be rewritten).
pytest.register_assert_rewrite("rerankit.testing.contract", "rerankit.testing._suite")


@pytest.fixture
def rerankit_upstream() -> FakeUpstream:
    """A fresh `FakeUpstream` with no default answer: queue some with `.serve(...)`."""
    from .upstream import FakeUpstream

    return FakeUpstream()
