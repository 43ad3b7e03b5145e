"""A stand-in NVIDIA NIM reranking server for trying the proxy offline (compose.yaml).

Standard library only, so it runs on the plain `python` image. It speaks the self-hosted
NIM's wire format: `POST /v1/ranking` with `{"model", "query", "passages": [{"text"}],
"truncate"}` answers `{"rankings": [{"index", "logit"}]}`, best first; `GET
/v1/health/ready` answers 200. A passage's logit grows with the query words it contains,
which is enough to see a ranking come back; it is no model.

    python fake_nim.py [--host 0.0.0.0] [--port 8000]
"""

from __future__ import annotations

import argparse
import json
import signal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Largest request body read (the proxy sends far less in this demo).
MAX_BODY = 4 * 1024 * 1024
MAX_PASSAGES = 512


def rank(query: str, passages: list[str]) -> list[dict[str, float | int]]:
    """Rankings best first: 2 per query word found, minus 3 (ties keep request order)."""
    words = set(query.lower().split())
    scored = [
        {"index": i, "logit": 2.0 * sum(w in p.lower() for w in words) - 3.0}
        for i, p in enumerate(passages)
    ]
    return sorted(scored, key=lambda r: -r["logit"])


class Handler(BaseHTTPRequestHandler):
    """`POST /v1/ranking`, `GET /v1/health/ready` and `/v1/health/live`."""

    server_version = "fake-nim/1"

    def do_GET(self) -> None:
        if self.path in ("/v1/health/ready", "/v1/health/live"):
            self._answer(200, {"status": "ready"})
        else:
            self._answer(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        if self.path != "/v1/ranking":
            self._answer(404, {"detail": "Not Found"})
            return
        length = int(self.headers.get("content-length") or 0)
        if not 0 < length <= MAX_BODY:
            self._answer(413, {"detail": "body missing or too large"})
            return
        try:
            body = json.loads(self.rfile.read(length))
            query = body["query"]["text"]
            passages = [p["text"] for p in body["passages"]]
        except (ValueError, KeyError, TypeError):
            self._answer(422, {"detail": "expected query.text and passages[].text"})
            return
        if len(passages) > MAX_PASSAGES:
            self._answer(422, {"detail": f"at most {MAX_PASSAGES} passages"})
            return
        self._answer(200, {"rankings": rank(query, passages)})

    def _answer(self, status: int, value: object) -> None:
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    # As a container's process 1, SIGTERM does nothing unless handled: stop on it.
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"fake NIM on http://{args.host}:{args.port}/v1/ranking", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
