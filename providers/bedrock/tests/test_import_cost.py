"""Resolving `bedrock/...` stays cheap: botocore is imported on the first call, not before."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_resolving_imports_neither_botocore_nor_httpx_nor_pydantic():
    code = (
        "import json, sys; from rerankit.registry import default_registry as d; "
        "d().resolve('bedrock/amazon.rerank-v1:0'); "
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('botocore', 'httpx', 'pydantic', 'rerankit_bedrock'))))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RERANKIT_")}
    env["RERANKIT_LOAD_PLUGINS"] = "bedrock"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    assert loaded and all(name.startswith("rerankit_bedrock") for name in loaded), loaded
