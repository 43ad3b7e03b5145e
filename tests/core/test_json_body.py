"""JSON bodies encoded once by rerankit (`_json`), and answers decoded as `json.loads` does.

The senders encode a provider's `json` themselves (orjson when installed) and send bytes:
the upstream must still get a JSON body with `Content-Type: application/json` (or the
provider's own content type) on every path, and answers orjson refuses but the standard
library parses (`NaN`, `1e999`, UTF-16) must meet the same checks as before.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import ClassVar

import httpx
import pytest

import rerankit
from rerankit import HttpProvider, HttpRequest, HttpResponse, ProviderRequest, Ranking
from rerankit._json import decode, encode
from rerankit.errors import InvalidResponseError
from rerankit.registry import ProviderRegistry
from tests.fakes.rerank_server import FakeRerankServer, Reply, Seen


class JsonProvider(HttpProvider):
    """Sends a JSON body with non-ASCII text; a `ctype/` model sets its own content type."""

    name: ClassVar[str] = "Json"

    def build_request(self, request: ProviderRequest) -> HttpRequest:
        headers = {"X-Kind": "json"}
        if request.model.startswith("ctype/"):
            headers["Content-Type"] = "application/vnd.rerank+json"
        body = {"query": request.query, "documents": list(request.documents), "n": 1}
        return HttpRequest("POST", f"{request.api_base}/rerank", headers, body)

    def parse_response(self, response: HttpResponse, request: ProviderRequest) -> Ranking:
        body = response.json()
        return Ranking([(item["index"], item["score"]) for item in body["results"]])


def _answer(seen: Seen) -> Reply:
    scores = [{"index": i, "score": 1.0 - i / 10} for i in range(len(seen.json["documents"]))]
    return Reply(200, {"results": scores})


@pytest.fixture(scope="module")
def server():
    with FakeRerankServer(_answer) as running:
        yield running


@pytest.fixture
def registry() -> ProviderRegistry:
    reg = ProviderRegistry()
    reg.register("js", JsonProvider())
    return reg


def _check(server: FakeRerankServer, content_type: str) -> None:
    (seen,) = server.requests
    assert seen.headers["content-type"] == content_type
    assert seen.headers["content-length"] == str(len(seen.body))
    assert seen.headers["x-kind"] == "json"
    assert json.loads(seen.body) == {"query": "café ☕", "documents": ["a", "b"], "n": 1}


@pytest.mark.parametrize(
    ("model", "content_type"),
    [("js/m", "application/json"), ("js/ctype/m", "application/vnd.rerank+json")],
)
def test_sync_client_sends_json_with_its_content_type(server, registry, model, content_type):
    server.clear()
    with rerankit.Client(registry=registry, max_retries=0) as client:
        response = client.rerank(model, "café ☕", ["a", "b"], api_base=server.url)
    assert [r.index for r in response.results] == [0, 1]
    _check(server, content_type)


@pytest.mark.parametrize("transport", ["aiohttp", "httpx"])
@pytest.mark.parametrize(
    ("model", "content_type"),
    [("js/m", "application/json"), ("js/ctype/m", "application/vnd.rerank+json")],
)
async def test_async_client_sends_json_with_its_content_type(
    server, registry, monkeypatch, transport, model, content_type
):
    if transport == "aiohttp":
        pytest.importorskip("httpx_aiohttp")
    monkeypatch.setenv("RERANKIT_ASYNC_TRANSPORT", transport)
    server.clear()
    async with rerankit.AsyncClient(registry=registry, max_retries=0) as client:
        response = await client.rerank(model, "café ☕", ["a", "b"], api_base=server.url)
    assert [r.index for r in response.results] == [0, 1]
    _check(server, content_type)


def test_encode_writes_compact_utf8_and_takes_what_orjson_does_not():
    assert encode({"q": "café", "d": [1, 2.5, None, True]}) == (
        '{"q":"café","d":[1,2.5,null,true]}'.encode()
    )
    # Non-string keys and integers wider than 64 bits: the standard library's output.
    assert json.loads(encode({1: "a"})) == {"1": "a"}
    assert json.loads(encode({"n": 2**70})) == {"n": 2**70}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"a": [1, 2.5, "\\u00e9"]}', {"a": [1, 2.5, "é"]}),
        (b"1e999", float("inf")),
        ('{"a": "é"}'.encode("utf-16"), {"a": "é"}),
        (b'"\\ud800"', "\ud800"),
    ],
)
def test_decode_parses_what_json_loads_parses(raw, expected):
    assert decode(raw) == expected


def test_decode_parses_nan_as_json_loads_does():
    value = decode(b'{"logit": NaN}')["logit"]
    assert value != value  # NaN


@pytest.mark.parametrize("raw", [b"", b"{", b"[1,]", b"not json"])
def test_decode_refuses_what_is_not_json(raw):
    with pytest.raises(json.JSONDecodeError):  # orjson's error is a subclass of it
        decode(raw)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"results": [{"index": 0, "score": NaN}, {"index": 1, "score": 1}]}', "not a number"),
        (b'{"results": [{"index": 0, "score": 1e999}, {"index": 1, "score": 1}]}', "not finite"),
    ],
)
def test_non_finite_scores_orjson_refuses_are_still_typed_errors(registry, body, reason):
    def answer(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    transport = httpx.MockTransport(answer)
    with (
        rerankit.Client(registry=registry, transport=transport, max_retries=0) as client,
        pytest.raises(InvalidResponseError, match=reason),
    ):
        client.rerank("js/m", "q", ["a", "b"], api_base="http://upstream.test")


def test_codec_without_orjson_gives_the_same_results():
    """The standard library path (orjson not installed) encodes and decodes alike."""
    script = (
        "import sys; sys.modules['orjson'] = None\n"
        "from rerankit import _json\n"
        "assert not _json.FAST\n"
        "assert _json.encode({'q': 'café', 'd': [1, 2.5]}) == "
        '\'{"q":"café","d":[1,2.5]}\'.encode()\n'
        "assert _json.decode(b'{\"a\": [1, \"x\"]}') == {'a': [1, 'x']}\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
