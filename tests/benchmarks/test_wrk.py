"""The proxy scenario's measuring parts: wrk driving, CPU of a process tree, tool choice,
and the profile's layer attribution. No timings are asserted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from benchmarks.profile_proxy import LOOP, SERIAL, SERVER, UPSTREAM, layer, serial_detail
from benchmarks.scenarios.proxy import choose_tool
from benchmarks.upstream import UpstreamProcess
from benchmarks.workload import NIM_PATH, QUERY, documents, nim_body
from benchmarks.wrk import ensure_wrk, lua_script, run_wrk, tree_cpu_seconds

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


@needs_wrk
def test_wrk_posts_the_body_and_headers_and_counts_refusals():
    body = json.dumps(nim_body(QUERY, documents(20))).encode()
    with UpstreamProcess(api_key="k-test") as upstream:
        url = upstream.url + NIM_PATH
        good = run_wrk(
            url, body, {"Authorization": "Bearer k-test"}, connections=2, threads=1, duration=1
        )
        wrong_key = run_wrk(
            url, body, {"Authorization": "Bearer other"}, connections=2, threads=1, duration=1
        )
    assert good["n"] > 0 and good["errors"] == 0
    assert good["p50_ms"] <= good["p99_ms"]
    assert wrong_key["n"] > 0 and wrong_key["errors"] == wrong_key["n"]  # all 401s


def test_lua_script_quotes_the_body_and_header_values():
    body = b'{"query": "a \\"quoted\\" word\\n"}'
    script = lua_script("POST", body, {"Authorization": 'Bearer "x"'})
    assert f"wrk.body = {json.dumps(body.decode())}" in script
    assert 'wrk.headers["Authorization"] = "Bearer \\"x\\""' in script
    assert 'wrk.headers["Content-Type"] = "application/json"' in script


def test_tree_cpu_counts_the_workers_below_the_parent():
    burner = "import time\nwhile time.process_time() < 0.2: pass\nprint('burnt', flush=True)\n"
    burner += "time.sleep(60)"
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import subprocess, sys\np = subprocess.Popen([sys.executable, '-c', {burner!r}])\n"
            "p.wait()",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "burnt"
        total = tree_cpu_seconds(parent.pid)
        with open(f"/proc/{parent.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        assert total >= 0.19 > own
    finally:
        subprocess.run(["pkill", "-P", str(parent.pid)], check=False)
        parent.kill()
        parent.wait()


def test_without_wrk_quick_runs_fall_back_to_aiohttp_and_install_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no wrk, and no apt-get either
    assert ensure_wrk(install=False) is None
    assert choose_tool("auto", quick=True) == "aiohttp"
    assert choose_tool("aiohttp", quick=False) == "aiohttp"
    with pytest.raises(RuntimeError, match="apt-get install -y wrk"):
        choose_tool("wrk", quick=True)


ROOT = "_run_module_as_main (<frozen runpy>:198);<module> (rerankit/cli.py:375);"
ROOT += "run (uvicorn/main.py:632);Runner.run (asyncio/runners.py:118)"


def test_profile_layers_go_to_the_deepest_owner():
    assert layer(f"{ROOT};_run_once (asyncio/base_events.py:1922)".split(";")) == LOOP
    uvicorn = "RequestResponseCycle.send (uvicorn/protocols/http/httptools_impl.py:524)"
    assert layer(f"{ROOT};{uvicorn}".split(";")) == SERVER
    deep = "AiohttpClient._exchange (rerankit/_transport.py:248);"
    deep += "Timeout.reschedule (asyncio/timeouts.py:71)"  # glue: charged to the sender
    assert layer(f"{ROOT};rerank (rerankit_proxy/endpoints.py:67);{deep}".split(";")) == UPSTREAM
    dumps = "dumps (rerankit_proxy/asgi.py:54);JSONEncoder.iterencode (json/encoder.py:258)"
    stack = f"{ROOT};rerank (rerankit_proxy/endpoints.py:97);{dumps}".split(";")
    assert layer(stack) == SERIAL
    assert serial_detail(stack) == "json encode for: the proxy's answer (asgi.dumps)"
    load = "load_json (rerankit_proxy/protocol.py:198);JSONDecoder.raw_decode (json/decoder.py:353)"
    assert serial_detail(f"{ROOT};{load}".split(";")) == (
        "json decode for: the caller's body (protocol.load_json)"
    )
