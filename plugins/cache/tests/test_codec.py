"""Stored values: round trip, and every kind of damage read as `CorruptEntry`."""

from __future__ import annotations

import json

import pytest

from rerankit import Ranking
from rerankit_cache import CorruptEntry, decode_ranking, encode_ranking


def test_round_trip_keeps_indices_and_exact_scores():
    scores = [(2, 0.1 + 0.2), (0, -1e-300), (1, 12345.678901234567)]
    data = encode_ranking(Ranking(scores=scores, id="up-1", usage={"tokens": 5}), "logit")
    back = decode_ranking(data, size=3, score_kind="logit")
    assert back.scores == scores
    assert back.id is None and back.usage is None and not back.partial


def test_layout_is_versioned_json_without_id_or_usage():
    data = encode_ranking(Ranking(scores=[(0, 1), (1, 0.5)], id="x", usage={"t": 1}), "bm25")
    assert json.loads(data) == {"v": 1, "kind": "bm25", "scores": [[0, 1.0], [1, 0.5]]}


def valid() -> dict:
    return {"v": 1, "kind": "logit", "scores": [[0, 0.5], [1, 0.25]]}


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\xff\xfe not json", "not JSON"),
        (b"[1, 2]", "version 1"),
        (json.dumps({**valid(), "v": 2}).encode(), "version 1"),
        (json.dumps({**valid(), "kind": "probability"}).encode(), "kind"),
        (json.dumps({**valid(), "scores": [[0, 0.5]]}).encode(), "not 2 scores"),
        (json.dumps({**valid(), "scores": "x"}).encode(), "not 2 scores"),
        (json.dumps({**valid(), "scores": [[0, 0.5], [0, 0.2]]}).encode(), "repeated"),
        (json.dumps({**valid(), "scores": [[0, 0.5], [2, 0.2]]}).encode(), "out of range"),
        (json.dumps({**valid(), "scores": [[0, 0.5], [True, 0.2]]}).encode(), "out of range"),
        (json.dumps({**valid(), "scores": [[0, 0.5], [1, "0.2"]]}).encode(), "finite"),
        (json.dumps({**valid(), "scores": [[0, 0.5], [1, 1]]}).encode(), "finite"),
        (b'{"v":1,"kind":"logit","scores":[[0,0.5],[1,Infinity]]}', "finite"),
        (json.dumps({**valid(), "scores": [[0, 0.5], [1]]}).encode(), "pair"),
    ],
)
def test_damage_is_a_corrupt_entry(data, reason):
    with pytest.raises(CorruptEntry, match=reason):
        decode_ranking(data, size=2, score_kind="logit")


def test_a_ranking_for_another_document_count_is_corrupt():
    data = encode_ranking(Ranking(scores=[(0, 1.0), (1, 0.5)]), "logit")
    with pytest.raises(CorruptEntry):
        decode_ranking(data, size=3, score_kind="logit")
