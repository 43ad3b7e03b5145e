"""The Nvidia NIM provider: hosted API catalog and self-hosted NIM containers.

Model strings (after the `nvidia_nim/` prefix):

- `<org>/<model>`: hosted form, `POST {base}/v1/retrieval/<org>/<model>/reranking`.
- `ranking/<org>/<model>`: self-hosted form, `POST {base}/v1/ranking`.

Base URL, in order: `api_base=`, `NVIDIA_NIM_RERANK_API_BASE`, `NVIDIA_NIM_API_BASE`,
then `https://ai.api.nvidia.com/v1/`. A base whose path contains `/retrieval/` or ends in
`/ranking` is the full endpoint and is used as-is. A trailing `/` or `/v1` never doubles up.

Wire (both forms): `{"model", "query": {"text"}, "passages": [{"text"}], "truncate"?}` ->
`{"rankings": [{"index", "logit"}]}`. NIM has no `top_n`: the core cuts after sorting.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar
from urllib.parse import urlsplit

from rerankit import HttpProvider, HttpRequest, HttpResponse, Param, ProviderRequest, Ranking
from rerankit.errors import ConfigurationError, InvalidResponseError, MissingApiKeyError
from rerankit.provider import ScoreKind

from .catalogue import CATALOGUE, NimModel, lookup

__all__ = ["NvidiaNimProvider", "HOSTED_BASE", "SELF_HOSTED_PREFIX", "endpoint"]

HOSTED_BASE = "https://ai.api.nvidia.com/v1/"
#: Model-string prefix that selects a self-hosted NIM's `/v1/ranking` route.
SELF_HOSTED_PREFIX = "ranking/"
_HOSTED_DOMAIN = "api.nvidia.com"


class NvidiaNimProvider(HttpProvider):
    """Nvidia NIM reranking (`nvidia_nim/...`); scores are raw logits."""

    name: ClassVar[str] = "Nvidia NIM"
    api_key_env: ClassVar[str | None] = "NVIDIA_NIM_API_KEY"
    api_base_env: ClassVar[tuple[str, ...]] = ("NVIDIA_NIM_RERANK_API_BASE", "NVIDIA_NIM_API_BASE")
    score_kind: ClassVar[ScoreKind] = "logit"
    max_documents_per_request: ClassVar[int | None] = 512
    known_models: ClassVar[tuple[str, ...]] = tuple(m.id for m in CATALOGUE)
    params: ClassVar[dict[str, Param]] = {
        "truncate": Param(
            str,
            "NIM truncation: 'NONE' fails on over-long input, 'END' cuts from the end.",
            choices=("NONE", "END"),
        ),
    }

    def build_request(self, request: ProviderRequest) -> HttpRequest:
        """The NIM request for `request`: URL by the base-URL rules, NIM's JSON body."""
        model, url, hosted = _route(request.model, request.api_base)
        headers = {"Accept": "application/json"}
        if request.api_key:
            headers["Authorization"] = f"Bearer {request.api_key}"
        elif hosted:
            raise MissingApiKeyError(
                self.name,
                self.api_key_env,
                " NVIDIA's hosted API needs one; a self-hosted NIM (api_base=) may not.",
            )
        body: dict[str, Any] = {
            "model": model.id,
            "query": {"text": request.query},
            "passages": [{"text": text} for text in request.documents],
        }
        if "truncate" in request.params:
            body["truncate"] = request.params["truncate"]
        return HttpRequest("POST", url, headers, body)

    def parse_response(self, response: HttpResponse, request: ProviderRequest) -> Ranking:
        """`{"rankings": [{"index", "logit"}]}` -> `Ranking`."""
        try:
            body = response.json()
        except ValueError:
            raise self._invalid(request, response, "the body is not JSON") from None
        rankings = body.get("rankings") if isinstance(body, dict) else None
        if not isinstance(rankings, list):
            raise self._invalid(request, response, "no 'rankings' list in the answer")
        try:  # the common answer in one comprehension; the loop below words what is wrong
            scores = [(item["index"], item["logit"]) for item in rankings if type(item) is dict]
        except KeyError:
            scores = []
        if len(scores) != len(rankings):
            for item in rankings:
                if not isinstance(item, dict) or "index" not in item or "logit" not in item:
                    raise self._invalid(
                        request, response, f"ranking entry {item!r} lacks index/logit"
                    )
            scores = [(item["index"], item["logit"]) for item in rankings]
        usage = body.get("usage")
        return Ranking(scores, usage=usage if isinstance(usage, dict) else None)

    def _invalid(
        self, request: ProviderRequest, response: HttpResponse, reason: str
    ) -> InvalidResponseError:
        return InvalidResponseError(
            f"{self.name} sent an answer that is not a NIM ranking for model "
            f"{request.full_model!r}: {reason}.",
            provider=self.name,
            model=request.full_model,
            status_code=response.status_code,
            body=response.text,
        )


@lru_cache(maxsize=512)
def _route(model_name: str, api_base: str | None) -> tuple[NimModel, str, bool]:
    """Model, URL and whether it is NVIDIA's hosted API; cached, as calls repeat them."""
    self_hosted = model_name.startswith(SELF_HOSTED_PREFIX)
    model = lookup(model_name.removeprefix(SELF_HOSTED_PREFIX))
    url = endpoint(api_base, model, self_hosted=self_hosted)
    return model, url, _is_hosted(url)


def endpoint(api_base: str | None, model: NimModel, *, self_hosted: bool) -> str:
    """The rerank URL for `model` under `api_base` (None: NVIDIA's hosted API)."""
    base = (api_base or HOSTED_BASE).strip()
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"NIM api_base {base!r} is not an http(s) URL; use e.g. 'http://localhost:8000' "
            f"for a self-hosted NIM or leave it unset for NVIDIA's hosted API."
        )
    path = parts.path.rstrip("/")
    if "/retrieval/" in parts.path or path.endswith("/ranking"):
        return base  # a full endpoint URL: used as-is
    if self_hosted and api_base is None:
        raise ConfigurationError(
            "The self-hosted form 'nvidia_nim/ranking/...' needs the NIM's address: pass "
            "api_base='http://<host>:8000' or set NVIDIA_NIM_RERANK_API_BASE."
        )
    root = base.rstrip("/").removesuffix("/v1")
    if self_hosted:
        return f"{root}/v1/ranking"
    return f"{root}/v1/retrieval/{model.path}"


def _is_hosted(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == _HOSTED_DOMAIN or host.endswith("." + _HOSTED_DOMAIN)
