"""`onnx/<dir>` through rerankit's clients, against tiny cross-encoders built in the session.

Every score is checked against the reference: tokenizers + onnxruntime called by hand on
the same files (`direct`, in conftest.py).
"""

from __future__ import annotations

import asyncio
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import rerankit
from rerankit import AsyncClient, Client, ProviderRegistry
from rerankit.errors import InvalidModelError, InvalidParameterError
from rerankit_onnx import ModelCache, OnnxProvider
from tests.fakes.tiny_cross_encoder import build_tiny_cross_encoder

QUERY = "red fruit"
DOCS = [
    "green apple",
    "red cherry",
    "paris is the capital of france",
    "a red red apple and a cherry",
    "gpu memory bandwidth",
    "banana",
    "the river and the bridge of the city",
]


def scores_by_index(response: rerankit.RerankResponse) -> list[float]:
    found = {r.index: r.relevance_score for r in response.results}
    return [found[i] for i in range(len(found))]


def test_scores_equal_a_direct_onnxruntime_run(client, tiny, direct):
    response = client.rerank(f"onnx/{tiny.bert}", QUERY, DOCS)
    assert scores_by_index(response) == pytest.approx(direct(tiny.bert, QUERY, DOCS), abs=1e-5)
    assert response.meta.score_kind == "logit"
    assert response.meta.provider == "onnx"
    assert response.model == f"onnx/{tiny.bert}"
    ranked = [r.relevance_score for r in response.results]
    assert ranked == sorted(ranked, reverse=True)
    assert response.results[0].document.text == DOCS[response.results[0].index]


def test_found_through_the_installed_entry_point(tiny, direct):
    response = rerankit.rerank(f"onnx/{tiny.bert}", QUERY, DOCS, top_n=2)
    expected = sorted(direct(tiny.bert, QUERY, DOCS), reverse=True)[:2]
    assert [r.relevance_score for r in response.results] == pytest.approx(expected, abs=1e-5)


def test_two_class_head_scores_the_positive_class_without_token_type_ids(client, tiny, direct):
    # The graph takes no token_type_ids: feeding them would be an ONNX Runtime error.
    response = client.rerank(f"onnx/{tiny.xenova}", QUERY, DOCS)
    reference = direct(tiny.xenova, QUERY, DOCS, onnx_file="onnx/model.onnx")
    assert scores_by_index(response) == pytest.approx(reference, abs=1e-5)


def test_quantized_variant_is_selectable(client, tiny, direct):
    model = f"onnx/{tiny.bert}"
    full = scores_by_index(client.rerank(model, QUERY, DOCS))
    for spelling in ("onnx/model_quantized.onnx", "model_quantized.onnx"):
        quantized = scores_by_index(client.rerank(model, QUERY, DOCS, onnx_file=spelling))
        reference = direct(tiny.bert, QUERY, DOCS, onnx_file="onnx/model_quantized.onnx")
        assert quantized == pytest.approx(reference, abs=1e-5)
    assert quantized != pytest.approx(full, abs=1e-4)


def test_local_directory_spellings(client, tiny, monkeypatch, cache):
    monkeypatch.chdir(tiny.bert)
    monkeypatch.setenv("HOME", str(tiny.bert.parent))
    absolute = client.rerank(f"onnx/{tiny.bert}", QUERY, DOCS)
    for spelling in ("onnx/./", "onnx/../bert", "onnx/~/bert"):
        other = client.rerank(spelling, QUERY, DOCS)
        assert other.model_dump(exclude={"id", "model"}) == absolute.model_dump(
            exclude={"id", "model"}
        )
    assert cache.loads == 1  # every spelling names one directory: one session


@pytest.mark.parametrize("batch_size", [1, 2, 3, 64])
def test_batch_size_does_not_change_scores(client, tiny, direct, batch_size):
    docs = [" ".join(["apple"] * n + ["cherry"]) for n in range(12)]
    response = client.rerank(f"onnx/{tiny.bert}", QUERY, docs, batch_size=batch_size)
    assert scores_by_index(response) == pytest.approx(direct(tiny.bert, QUERY, docs), abs=1e-5)


def test_long_documents_are_truncated_to_the_models_length(client, tiny, direct):
    # 32 positions: untruncated, these would be an out-of-range error in the graph.
    shared = "cherry apple " * 30
    docs = [shared + "paris france", shared + "gpu memory", "red cherry"]
    response = client.rerank(f"onnx/{tiny.bert}", QUERY, docs)
    scores = scores_by_index(response)
    assert scores == pytest.approx(direct(tiny.bert, QUERY, docs), abs=1e-5)
    assert scores[0] == scores[1]  # they differ only past the cut
    assert response.meta.usage == {"tokens": 32 + 32 + 7}


def test_max_length_truncates_shorter(client, tiny, direct):
    docs = ["cherry apple banana paris", "cherry apple banana gpu"]
    model = f"onnx/{tiny.bert}"
    full = scores_by_index(client.rerank(model, QUERY, docs))
    assert full[0] != full[1]
    cut = scores_by_index(client.rerank(model, QUERY, docs, max_length=8))
    assert cut[0] == cut[1]  # [CLS] red fruit [SEP] cherry apple banana [SEP]
    assert cut == pytest.approx(direct(tiny.bert, QUERY, docs, max_length=8), abs=1e-5)


def test_max_length_beyond_the_model_is_refused(client, tiny):
    with pytest.raises(InvalidParameterError, match=r"between 4 and 32 \(the model's limit\)"):
        client.rerank(f"onnx/{tiny.bert}", QUERY, DOCS, max_length=33)
    with pytest.raises(InvalidParameterError, match="between 4 and 32"):
        client.rerank(f"onnx/{tiny.bert}", QUERY, DOCS, max_length=3)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"batch_size": 0}, "'batch_size' must be >= 1"),
        ({"batch_size": 5000}, "'batch_size' must be <= 1024"),
        ({"intra_op_num_threads": 1000}, "'intra_op_num_threads' must be <= 256"),
        ({"onnx_file": "../other/model.onnx"}, "onnx_file must be a relative path"),
        ({"onnx_file": "/etc/model.onnx"}, "onnx_file must be a relative path"),
        ({"onnx_file": "model.bin"}, "onnx_file must be a relative path"),
        ({"onnx_file": "x" * 300 + ".onnx"}, "at most 200 characters"),
    ],
)
def test_bad_parameters_are_refused(client, tiny, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        client.rerank(f"onnx/{tiny.bert}", QUERY, DOCS, **params)


def test_one_session_per_model_across_calls_and_threads(client, tiny, cache):
    model = f"onnx/{tiny.bert}"
    serial = scores_by_index(client.rerank(model, QUERY, DOCS))
    cache.clear()
    loads = cache.loads
    start = threading.Barrier(8)

    def call(_: int) -> list[float]:
        start.wait()
        return scores_by_index(client.rerank(model, QUERY, DOCS, batch_size=2))

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(8)))
    assert cache.loads == loads + 1  # eight threads raced for a cold model: one load
    for result in results:
        assert result == pytest.approx(serial, abs=1e-6)


def test_threads_are_fixed_when_the_model_loads(client, tiny, cache):
    model = f"onnx/{tiny.bert}"
    first = client.rerank(model, QUERY, DOCS, intra_op_num_threads=1)
    again = client.rerank(model, QUERY, DOCS, intra_op_num_threads=1)
    unsaid = client.rerank(model, QUERY, DOCS)  # no setting: the loaded session serves
    assert cache.loads == 1
    assert scores_by_index(first) == scores_by_index(again) == scores_by_index(unsaid)
    with pytest.raises(InvalidParameterError, match="already loaded in this process with"):
        client.rerank(model, QUERY, DOCS, intra_op_num_threads=2)
    assert cache.loads == 1  # refused, not loaded a second time


def test_cache_keeps_at_most_max_models(tiny):
    cache = ModelCache(max_models=2)
    registry = ProviderRegistry()
    registry.register("onnx", OnnxProvider(cache=cache))
    client = Client(registry=registry)
    bert, xenova = f"onnx/{tiny.bert}", f"onnx/{tiny.xenova}"
    client.rerank(bert, QUERY, DOCS)
    client.rerank(xenova, QUERY, DOCS)
    client.rerank(bert, QUERY, DOCS)  # bert is now the most recently used
    client.rerank(bert, QUERY, DOCS, onnx_file="onnx/model_quantized.onnx")
    assert len(cache.keys()) == 2
    assert cache.keys()[0][0] == tiny.bert  # xenova, least recently used, was dropped
    client.rerank(xenova, QUERY, DOCS)
    assert cache.loads == 4


class RecordingCache(ModelCache):
    """Notes the thread each lookup runs on (lookups happen where inference does)."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: list[str] = []

    def get(self, key, load):
        self.threads.append(threading.current_thread().name)
        return super().get(key, load)


async def test_async_client_runs_inference_off_the_event_loop(tiny, direct):
    cache = RecordingCache()
    registry = ProviderRegistry()
    registry.register("onnx", OnnxProvider(cache=cache, workers=2))
    async with AsyncClient(registry=registry) as client:
        responses = await asyncio.gather(
            *(client.rerank(f"onnx/{tiny.bert}", QUERY, DOCS) for _ in range(4))
        )
    assert cache.threads and all(t.startswith("rerankit-onnx") for t in cache.threads)
    assert threading.current_thread().name not in cache.threads
    for response in responses:
        assert scores_by_index(response) == pytest.approx(direct(tiny.bert, QUERY, DOCS), abs=1e-5)


def test_missing_directory_says_where_and_how(client, tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(InvalidModelError) as info:
        client.rerank(f"onnx/{missing}", QUERY, DOCS)
    message = str(info.value)
    assert str(missing) in message and "optimum-cli export onnx" in message


def test_directory_without_the_default_graph_lists_what_it_has(client, tiny, tmp_path):
    only_quantized = tmp_path / "model"
    shutil.copytree(tiny.bert, only_quantized)
    (only_quantized / "model.onnx").unlink()
    with pytest.raises(InvalidModelError) as info:
        client.rerank(f"onnx/{only_quantized}", QUERY, DOCS)
    message = str(info.value)
    assert "looked for model.onnx, onnx/model.onnx" in message
    assert "onnx/model_quantized.onnx" in message and "onnx_file=" in message


def test_missing_tokenizer_is_named(client, tiny, tmp_path):
    broken = tmp_path / "model"
    shutil.copytree(tiny.bert, broken)
    (broken / "tokenizer.json").unlink()
    with pytest.raises(InvalidModelError, match=r"No tokenizer\.json in"):
        client.rerank(f"onnx/{broken}", QUERY, DOCS)


def test_corrupt_graph_is_a_typed_error(client, tiny, tmp_path):
    broken = tmp_path / "model"
    shutil.copytree(tiny.bert, broken)
    (broken / "model.onnx").write_bytes(b"this is no protobuf")
    with pytest.raises(InvalidModelError, match="ONNX Runtime cannot load"):
        client.rerank(f"onnx/{broken}", QUERY, DOCS)


def test_head_with_more_classes_is_refused(client, tmp_path):
    build_tiny_cross_encoder(tmp_path / "nli", head=3)
    with pytest.raises(InvalidModelError, match="head of 3 classes"):
        client.rerank(f"onnx/{tmp_path / 'nli'}", QUERY, DOCS)


@pytest.mark.parametrize("name", ["a..b/c", "owner/name/extra", "owner/na me", "x@..", "--x/y"])
def test_malformed_model_names(client, name):
    with pytest.raises(InvalidModelError):
        client.rerank(f"onnx/{name}", QUERY, DOCS)


def test_registering_the_plugin_loads_no_runtime():
    import subprocess
    import sys

    code = (
        "import sys, rerankit_onnx\n"
        "from rerankit import ProviderRegistry\n"
        "ProviderRegistry().register('onnx', rerankit_onnx.OnnxProvider())\n"
        "heavy = {'onnxruntime', 'tokenizers', 'numpy', 'huggingface_hub', 'asyncio'}\n"
        "heavy &= set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_tokenizers_kept_per_truncation_length_are_bounded(client, tiny, direct, cache):
    from rerankit_onnx.model import MAX_TOKENIZER_VARIANTS

    model = f"onnx/{tiny.bert}"
    docs = ["cherry apple banana paris france river", "red cherry"]
    for max_length in range(5, 5 + MAX_TOKENIZER_VARIANTS + 3):
        client.rerank(model, QUERY, docs, max_length=max_length)
    [key] = cache.keys()
    loaded = cache.get(key, lambda: pytest.fail("the model should be loaded"))
    assert len(loaded._tokenizers) == MAX_TOKENIZER_VARIANTS
    # The first length was dropped; asked for again, it is made anew and truncates alike.
    again = scores_by_index(client.rerank(model, QUERY, docs, max_length=5))
    assert again == pytest.approx(direct(tiny.bert, QUERY, docs, max_length=5), abs=1e-5)


@pytest.mark.parametrize(
    ("variant", "options"),
    [
        ("static", {"shape": (4, 32)}),  # fixed batch and sequence sizes
        ("static-sequence", {"shape": ("batch", 32)}),
        ("int32", {"int32": True}),
    ],
)
def test_static_shapes_and_int32_inputs_score_like_the_dynamic_graph(
    client, tiny, tmp_path, variant, options
):
    # Same seed and sizes as `tiny.bert`: the same weights behind another input signature.
    build_tiny_cross_encoder(tmp_path / variant, head=1, **options)
    dynamic = scores_by_index(client.rerank(f"onnx/{tiny.bert}", QUERY, DOCS))
    response = client.rerank(f"onnx/{tmp_path / variant}", QUERY, DOCS, batch_size=3)
    assert scores_by_index(response) == pytest.approx(dynamic, abs=1e-5)
