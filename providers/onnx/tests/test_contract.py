"""The provider contract suite (rerankit.testing) run against the ONNX Runtime provider."""

from __future__ import annotations

import pytest

from rerankit.testing import ProviderContract
from rerankit_onnx import OnnxProvider


class TestOnnxContract(ProviderContract):
    provider = OnnxProvider()
    prefix = "onnx"
    plugin = "rerankit_onnx"

    @pytest.fixture(autouse=True)
    def _tiny_model(self, tiny):
        # The model string after `onnx/`: the session's tiny cross-encoder, by absolute path.
        self.model = str(tiny.bert)
