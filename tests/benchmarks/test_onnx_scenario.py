"""The onnx benchmark scenario still runs and reports every contender (smoke only: the
quick mode's numbers mean nothing and nothing here looks at timings)."""

from __future__ import annotations

from benchmarks.scenarios import onnx_inference


def test_quick_run_reports_every_batch_size_and_the_target_figure():
    result = onnx_inference.run(quick=True)
    assert result.skipped is None
    for setting, _ in onnx_inference.SETTINGS:
        for batch_size in onnx_inference.BATCH_SIZES:
            figures = result.data[setting][str(batch_size)]
            assert {onnx_inference.FLOOR, onnx_inference.SUBJECT} <= set(figures)
            assert figures[onnx_inference.FLOOR]["x_floor"] == 1.0
    assert result.data["worst_x_floor"] > 0
    assert onnx_inference.FLASHRANK in result.data["default"]["16"]
    # rerankit scores what the hand-written loop does on the same files
    assert result.data["max_score_difference"] < 1e-5
