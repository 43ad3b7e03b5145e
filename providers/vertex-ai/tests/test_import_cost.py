"""Resolving `vertex_ai/...` stays cheap: google-auth is imported on the first call."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_resolving_imports_neither_google_auth_nor_httpx_nor_pydantic():
    code = (
        "import json, sys; from rerankit.registry import default_registry as d; "
        "d().resolve('vertex_ai/semantic-ranker-default-004'); "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('google', 'httpx', 'pydantic', 'rerankit_vertex_ai'))))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RERANKIT_")}
    env["RERANKIT_LOAD_PLUGINS"] = "vertex_ai"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert loaded and all(name.startswith("rerankit_vertex_ai") for name in loaded), loaded
