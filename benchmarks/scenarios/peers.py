"""Scenario 6: the most-used gateway (litellm), its SDK and its proxy, in its own venv.

Skipped unless benchmarks/.peers-venv exists (`run.py --install-peers` creates it).
"""

from __future__ import annotations

from benchmarks.report import Result


def run(quick: bool, install: bool) -> Result:
    """litellm's rerank and proxy against the same upstream and floors."""
    return Result(scenario="peers", title="6. Peers (litellm)", skipped="not yet written")
