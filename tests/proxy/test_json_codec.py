"""The proxy's own JSON: orjson where it reads and writes as the standard library does,
the standard library where it does not (big integers, odd encodings, every error).

The end-to-end behaviour (lone surrogates, deep nesting, NaN refused through a real
server) is in test_hostile_input.py; these check the codec's edges directly.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from rerankit_proxy.asgi import ApiError, dumps
from rerankit_proxy.protocol import MAX_JSON_DEPTH, load_json


def _error(body: bytes) -> ApiError:
    with pytest.raises(ApiError) as caught:
        load_json(body)
    return caught.value


def _stdlib_message(body: bytes) -> str:
    try:
        json.loads(body)
    except ValueError as exc:
        return str(exc)
    raise AssertionError("the standard library read it")


@pytest.mark.parametrize("number", [2**64, 2**63 * 10**20, -(2**63) - 1, 2**63, 2**64 - 1])
def test_integers_beyond_64_bits_come_back_exact(number):
    # orjson reads an integer beyond 64 bits as a float; the caller's document echoes it.
    body = json.dumps({"documents": [{"text": "a", "id": number}], "n": [number]}).encode()
    data = load_json(body)
    assert data["documents"][0]["id"] == number and type(data["documents"][0]["id"]) is int
    assert data["n"] == [number]
    assert json.loads(dumps(data)) == data


def test_a_plain_body_reads_as_the_standard_library_reads_it():
    body = json.dumps(
        {
            "model": "m",
            "query": "caf\u00e9 \U0001f600",
            "documents": ["a", {"text": "b", "meta": {"x": [1, 2.5, -0.0, None, True]}}],
            "top_n": 2,
        }
    ).encode()
    assert load_json(body) == json.loads(body)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b'{"a": NaN}', "invalid_json"),
        (b'{"a": -Infinity}', "invalid_json"),
        (b'{"a": 1e999}', "invalid_json"),
        (b'{"a": 1', "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b'{"a": "\\ud800"}', "invalid_unicode"),
        (b'{"a": "\\udc00\\ud800"}', "invalid_unicode"),
    ],
)
def test_what_orjson_refuses_gets_the_same_answer_as_before(body, code):
    error = _error(body)
    assert (error.status, error.code) == (400, code)
    if body in (b'{"a": 1', b"\xff\xfe"):
        assert _stdlib_message(body) in error.message  # the standard library's words
    elif b"N" in body:
        assert "is not a JSON value" in error.message


def test_the_nesting_limit_holds_on_either_reader():
    def nested(depth: int) -> bytes:  # `depth` levels, the body itself the first
        return b'{"a":' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"

    assert load_json(nested(MAX_JSON_DEPTH))["a"] is not None
    assert _error(nested(MAX_JSON_DEPTH + 1)).code == "json_too_deep"
    assert _error(nested(5000)).code == "json_too_deep"  # past orjson's own limit too


def test_a_body_that_is_no_object_is_named_as_the_standard_library_reads_it():
    assert "got int" in _error(str(2**70).encode()).message
    assert "got list" in _error(b"[1]").message


def test_utf16_bodies_are_still_read():
    # The standard library detects UTF-16 and UTF-32; orjson reads only UTF-8.
    assert load_json('{"model": "m"}'.encode("utf-16")) == {"model": "m"}


def test_dumps_writes_what_orjson_cannot_as_the_standard_library_does():
    value = {"big": 2**70, "nested": [{"x": -(2**64)}]}
    assert dumps(value) == json.dumps(value, separators=(",", ":")).encode()
    assert dumps({1: "a"}) == b'{"1":"a"}'


def test_dumps_is_compact_utf8_without_ascii_escapes():
    written = '{"q":"caf\u00e9 \u2028","s":0.25}'.encode()
    assert dumps({"q": "caf\u00e9 \u2028", "s": 0.25}) == written


def test_dumps_still_refuses_a_lone_surrogate():
    with pytest.raises(UnicodeEncodeError):
        dumps({"q": "\ud800"})


def test_orjson_and_the_standard_library_give_the_same_answer_to_mangled_bodies():
    """Differential: random edits of request-like bodies (lone surrogates, NaN, huge
    numbers, deep nesting, a BOM, bytes that are no UTF-8) read through `load_json` and
    through its standard-library path alone give equal values or the same error."""
    import random

    from rerankit_proxy.protocol import _load_stdlib

    seeds = [
        b'{"model":"m","query":"q","documents":["a",{"text":"b","x":[1,2.5,null,true]}]}',
        b'{"a":"\\ud83d\\ude00","b":"\\u00e9","c":[[[]]],"d":-0,"e":1e5,"f":18446744073709551616}',
        b'{"q":"\xc3\xa9\xe2\x82\xac","n":-9223372036854775809,"z":1E-7}',
    ]
    pieces = [b'"\\ud800"', b"NaN", b"1e999", b"1" * 25, b"[" * 40 + b"]" * 40, b"\xef\xbb\xbf"]
    alphabet = b'{}[]":,\\u0123456789aeflnrstu.E+- \t\xff\xc3\xa9\xed\xa0\x80'
    rng = random.Random(16)

    def outcome(read: Any, body: bytes) -> tuple[Any, ...]:
        try:
            return ("value", json.dumps(read(body)))  # an int read as a float would differ
        except ApiError as error:
            return ("error", error.status, error.code, error.message)

    for _ in range(3000):
        body = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(body) + 1)
            roll = rng.random()
            if roll < 0.4:
                body[at:at] = bytes([rng.choice(alphabet)])
            elif roll < 0.7 and len(body) > 1:
                del body[min(at, len(body) - 1)]
            else:
                body[at:at] = rng.choice(pieces)
        raw = bytes(body)
        assert outcome(load_json, raw) == outcome(_load_stdlib, raw), raw
