"""Reading the command's documents: formats, the index rule, encodings, limits."""

from __future__ import annotations

import io

import pytest

from rerankit._cli_input import CliInputError, read_documents


def read(data: bytes, **options):
    return read_documents(io.BytesIO(data), name="docs.txt", **options)


def test_blank_lines_stay_as_empty_documents_so_index_is_line_minus_one():
    assert read(b"a\n\nc\r\n\n") == ["a", "", "c", ""]
    assert read(b"no final newline") == ["no final newline"]
    assert read(b"") == []


def test_byte_order_mark_is_not_part_of_the_first_document():
    assert read("\ufeffa\nb\n".encode()) == ["a", "b"]


def test_undecodable_input_names_line_byte_and_the_option():
    with pytest.raises(CliInputError) as caught:
        read("ok\ncaf\xe9\n".encode("latin-1"))
    message = str(caught.value)
    assert "docs.txt is not valid utf-8" in message
    assert "0xe9 on line 2" in message
    assert "--encoding latin-1" in message
    assert read("caf\xe9\n".encode("latin-1"), encoding="latin-1") == ["caf\xe9"]
    assert read("ü\n".encode("utf-16"), encoding="utf-16") == ["ü"]


def test_unknown_encoding_is_refused():
    with pytest.raises(CliInputError, match="unknown encoding 'klingon'"):
        read(b"a", encoding="klingon")


def test_jsonl_objects_keep_their_fields_and_pick_the_text_field():
    data = b'{"id": 1, "body": "alpha"}\n"beta"\n\n\n'
    docs = read(data, input_format="jsonl", field="body")
    assert docs == [{"id": 1, "body": "alpha", "text": "alpha"}, "beta"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b'{"body": "a"}\n', "line 1 has no string field 'text' (its fields: body)"),
        (b'"a"\n\n"b"\n', "line 2 is blank"),
        (b'"a"\n{oops\n', "line 2 is not JSON"),
        (b"42\n", "line 1 is a JSON int"),
        (b"[" * 100_000 + b"\n", "line 1 is JSON too large or too deep"),
    ],
)
def test_bad_jsonl_names_the_line(data, expected):
    with pytest.raises(CliInputError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        read(data, input_format="jsonl")


def test_json_list_input():
    assert read(b'["a", {"text": "b", "id": 7}]', input_format="json") == [
        "a",
        {"text": "b", "id": 7},
    ]
    with pytest.raises(CliInputError, match="holds a JSON dict, not a list"):
        read(b'{"text": "a"}', input_format="json")
    with pytest.raises(CliInputError, match="item 1 has no string field"):
        read(b'["a", {"id": 1}]', input_format="json")


def test_input_above_the_limit_is_refused_without_reading_it_all():
    with pytest.raises(CliInputError, match="larger than"):
        read(b"x" * 2048, limit=1024)
