"""Scenario 5: the rerankit proxy under load, against the upstream hit directly.

Skipped, with a note, until `rerankit.proxy` exists on this branch.
"""

from __future__ import annotations

import importlib.util

from benchmarks.report import Result


def run(quick: bool) -> Result:
    """Requests/s and p50/p99 at 32 connections; startup time; RSS idle and after load."""
    result = Result(scenario="proxy", title="5. Proxy (32 connections)")
    if importlib.util.find_spec("rerankit.proxy") is None:
        result.skipped = "rerankit.proxy is not on this branch yet (it lands with the proxy work)."
    return result
