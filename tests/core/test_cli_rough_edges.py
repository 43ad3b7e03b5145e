"""The command in ordinary situations: no tracebacks, its own option spelling, inputs,
model catalogues and progress on a terminal."""

from __future__ import annotations

import io
import json
import subprocess

import pytest

import rerankit
from rerankit.cli import cli_message, main
from tests.conftest import NIM_KEY
from tests.core.test_cli import SCRIPT, run

NIM_MODEL = "nvidia_nim/nvidia/llama-3_2-nv-rerankqa-1b-v2"


def test_version():
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"rerankit {rerankit.__version__}"


def test_output_piped_into_a_closed_reader_is_no_traceback(tmp_path):
    documents = tmp_path / "docs.txt"
    documents.write_text("".join(f"document number {i} about gpus\n" for i in range(4000)))
    assert SCRIPT
    process = subprocess.Popen(
        [SCRIPT, "rerank", "local/bm25", "gpus", "-f", str(documents)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()  # what `head -1` reads, then it goes away
    process.stdout.close()
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_ctrl_c_is_no_traceback(monkeypatch, capsys):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("rerankit._client.Client.rerank", interrupted)
    assert main(["rerank", "local/bm25", "q", "-d", "a"]) == 130
    assert capsys.readouterr().err == "interrupted\n"


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p / "missing.txt", "missing.txt: no such file"),
        (lambda p: p, "is a directory"),
    ],
)
def test_unusable_file_is_a_clear_error(tmp_path, make, expected, capsys):
    assert main(["rerank", "local/bm25", "q", "-f", str(make(tmp_path))]) == 2
    assert expected in capsys.readouterr().err


def test_file_in_another_encoding_says_which_option_to_use(tmp_path, capsys):
    path = tmp_path / "latin.txt"
    path.write_bytes("caf\xe9 prices\ntea\n".encode("latin-1"))
    assert main(["rerank", "local/bm25", "cafe", "-f", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not valid utf-8" in err and "--encoding latin-1" in err
    args = ["rerank", "local/bm25", "café", "-f", str(path), "--encoding", "latin-1", "--json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["document"]["text"] == "caf\xe9 prices"


def stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))


def test_blank_lines_keep_index_equal_to_line_number_minus_one(monkeypatch, capsys):
    stdin(monkeypatch, "apple\n\nbanana\n")
    assert main(["rerank", "local/bm25", "banana", "--json"]) == 0
    best = json.loads(capsys.readouterr().out)["results"][0]
    assert best["index"] == 2 and best["document"]["text"] == "banana"


def test_jsonl_with_field_keeps_the_other_fields(tmp_path, capsys):
    path = tmp_path / "docs.jsonl"
    path.write_text('{"id": "a1", "body": "apples are red"}\n{"id": "b2", "body": "bananas"}\n')
    args = ["rerank", "local/bm25", "bananas", "-f", str(path), "--jsonl", "--field", "body"]
    assert main([*args, "--json"]) == 0
    best = json.loads(capsys.readouterr().out)["results"][0]
    assert best["index"] == 1
    assert best["document"] == {"id": "b2", "body": "bananas", "text": "bananas"}


def test_json_list_input_from_stdin(monkeypatch, capsys):
    stdin(monkeypatch, '["apple", "cherry"]')
    assert main(["rerank", "local/bm25", "cherry", "--input-format", "json", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"][0]["index"] == 1


def test_messages_use_the_commands_option_names(capsys):
    assert main(["rerank", NIM_MODEL, "q", "-d", "a"]) == 2
    err = capsys.readouterr().err
    assert "pass --api-key" in err and "api_key=" not in err
    assert main(["rerank", "local/bm25", "q", "-d", "a", "-p", "nope=1"]) == 2
    err = capsys.readouterr().err
    assert "--drop-params" in err and "drop_params=True" not in err


def test_cli_message_rewrites_only_python_argument_spellings():
    error = ValueError("set X or pass api_key=. pass api_base='http://h' (top_n must be >= 1)")
    assert cli_message(error) == (
        "set X or pass --api-key. pass --api-base 'http://h' (--top-n must be >= 1)"
    )
    assert cli_message(ValueError("the api_key_env attribute")) == "the api_key_env attribute"


def test_api_key_and_drop_params_flags(nim, capsys):
    args = ["rerank", NIM_MODEL, "gpu", "-d", "gpu", "-d", "cat", "--api-base", nim.url]
    flags = ["--api-key", NIM_KEY, "-p", "unknown_knob=1", "--drop-params", "--json"]
    with pytest.warns(rerankit.RerankitWarning, match="Dropped parameter"):
        code = main([*args, *flags])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert len(json.loads(captured.out)["results"]) == 2
    assert nim.requests[-1].headers["authorization"] == f"Bearer {NIM_KEY}"
    assert "unknown_knob" not in nim.requests[-1].json
    assert NIM_KEY not in captured.out + captured.err


def test_providers_lists_known_models(capsys):
    assert main(["providers", "--json"]) == 0
    rows = {r["prefix"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["local"]["models"] == ["bm25"]
    assert "nvidia/llama-3.2-nv-rerankqa-1b-v2" in rows["nvidia_nim"]["models"]
    assert rows["cohere"]["models"] == []
    assert main(["providers", "--models"]) == 0
    table = capsys.readouterr().out
    assert "local: local/bm25" in table
    assert "nvidia_nim/nvidia/llama-3.2-nv-rerankqa-1b-v2" in table
    assert "cohere: no catalogue" in table


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def nim_call(nim, *extra: str) -> list[str]:
    # 600 documents: NIM takes 512 per request, so the call is split into two.
    documents = [f"document {i} about gpu memory" for i in range(600)]
    args = ["rerank", NIM_MODEL, "gpu", "--api-base", nim.url, "--api-key", NIM_KEY, *extra]
    return args + [a for d in documents for a in ("-d", d)]


def test_progress_on_a_terminal_for_a_split_call(nim, monkeypatch, capsys):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(nim_call(nim, "-n", "3")) == 0
    assert len(nim.requests) == 2
    shown = terminal.getvalue()
    assert "reranking 600 documents: 1/2 upstream requests" in shown
    assert "2/2 upstream requests" in shown
    assert shown.endswith("\r\x1b[K")  # the line is erased before the results
    assert len(capsys.readouterr().out.splitlines()) == 4  # header and the 3 best


def test_no_progress_in_json_mode_or_without_a_terminal(nim, monkeypatch, capsys):
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(nim_call(nim, "--json")) == 0
    assert terminal.getvalue() == ""
    monkeypatch.undo()
    assert main(nim_call(nim)) == 0
    assert "upstream requests" not in capsys.readouterr().err
