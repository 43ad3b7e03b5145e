"""A tiny Cohere-like HTTP provider for core unit tests, driven by in-process transports."""

from __future__ import annotations

from typing import Any, ClassVar

from rerankit import HttpProvider, HttpRequest, HttpResponse, Param, ProviderRequest, Ranking
from rerankit.errors import InvalidResponseError
from rerankit.registry import ProviderRegistry

BASE = "https://fake.test"


class EchoProvider(HttpProvider):
    """POST {base}/rerank with Cohere-v1 fields; answers `{"results": [{index, score}]}`."""

    name: ClassVar[str] = "Echo"
    api_key_env: ClassVar[str | None] = "ECHO_API_KEY"
    api_base_env: ClassVar[tuple[str, ...]] = ("ECHO_API_BASE",)
    params: ClassVar[dict[str, Param]] = {"mode": Param(str, choices=("a", "b"))}

    def build_request(self, request: ProviderRequest) -> HttpRequest:
        headers = {"Authorization": f"Bearer {request.api_key}"} if request.api_key else {}
        body: dict[str, Any] = {
            "model": request.model,
            "query": request.query,
            "documents": list(request.documents),
            **request.params,
        }
        return HttpRequest("POST", f"{request.api_base or BASE}/rerank", headers, body)

    def parse_response(self, response: HttpResponse, request: ProviderRequest) -> Ranking:
        body = response.json()
        if not isinstance(body, dict) or "results" not in body:
            raise InvalidResponseError("no results", provider=self.name, model=request.model)
        return Ranking([(r["index"], r["score"]) for r in body["results"]], id=body.get("id"))


def registry(**providers: HttpProvider) -> ProviderRegistry:
    reg = ProviderRegistry()
    for prefix, provider in (providers or {"echo": EchoProvider()}).items():
        reg.register(prefix, provider)
    return reg
