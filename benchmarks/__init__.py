"""rerankit's benchmark suite: `uv run python benchmarks/run.py --help`.

Every figure is measured against a floor (a bare HTTP client, `import httpx`, the upstream
hit directly) in the same run on the same machine, and reported as a ratio to it. The
upstream is a fast fake NIM (`benchmarks/upstream.py`) in its own process, so it does not
share the GIL with the client under test.
"""
