"""local/bm25 ranks like an independent implementation of the same formula (bm25s, lucene).

The benchmark scenario's quick mode; its timings are not looked at here.
"""

from __future__ import annotations

from benchmarks.scenarios import bm25_peers


def test_local_bm25_ranks_like_bm25s_lucene_on_the_benchmark_input():
    result = bm25_peers.run(quick=True)
    assert result.skipped is None, result.skipped
    for size in (200, 1_000):
        assert result.data[f"{size}/bm25s (lucene, numpy/scipy)"]["same_top10"] == 1.0
