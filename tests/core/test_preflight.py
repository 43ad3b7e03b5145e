"""rerankit.preflight: a call's setup checked without sending it."""

from __future__ import annotations

import socket

import pytest

from rerankit.errors import (
    InvalidParameterError,
    MissingApiKeyError,
    RerankitError,
    UnknownProviderError,
)
from rerankit.preflight import check_call, score_kind_after

NIM = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_a_valid_http_call_is_checked_without_io(monkeypatch):
    monkeypatch.delenv("NVIDIA_NIM_API_KEY", raising=False)
    # nothing listens there: a check that connected would fail
    checked = check_call(NIM, api_key="k", api_base=_closed_port(), params={"truncate": "END"})
    assert (checked.prefix, checked.model) == ("nvidia_nim", "nvidia/llama-3_2-nv-rerankqa-1b-v2")
    assert checked.params == {"truncate": "END"}
    assert checked.score_kind == "logit"
    assert check_call(NIM, api_key="k", normalize="sigmoid").score_kind == "probability"


def test_what_the_call_would_raise_is_raised(monkeypatch):
    monkeypatch.delenv("NVIDIA_NIM_API_KEY", raising=False)
    with pytest.raises(MissingApiKeyError):
        check_call(NIM)
    with pytest.raises(UnknownProviderError):
        check_call("nope/x")
    with pytest.raises(InvalidParameterError) as bad:
        check_call("local/bm25", params={"no_such": 1})
    assert bad.value.parameter == "no_such"
    with pytest.raises(InvalidParameterError) as bad:
        check_call("local/bm25", normalize="zscore")
    assert bad.value.parameter == "normalize"


def test_drop_params_drops_silently(recwarn):
    assert check_call("local/bm25", params={"no_such": 1}, drop_params=True).params == {}
    assert not recwarn.list


def test_a_key_in_a_bad_base_url_is_redacted():
    with pytest.raises(RerankitError) as bad:
        check_call(NIM, api_key="sk-secret-123456", api_base="ftp://u:sk-secret-123456@x")
    assert "sk-secret-123456" not in str(bad.value)


def test_score_kind_after():
    assert score_kind_after("logit", "sigmoid") == "probability"
    assert score_kind_after("bm25", "minmax") == "minmax"
    assert score_kind_after("probability", None) == "probability"
    with pytest.raises(InvalidParameterError):
        score_kind_after("logit", "zscore")
