"""Providers declared as data: one class for every Cohere-like rerank wire shape.

Most rerank APIs are variations of Cohere's: `POST {base}{path}` with a JSON body of
`model`, `query`, a list of documents and an optional result count, answered by a list of
`{index, <score>}` objects. They differ only in names (`documents` / `input` / `texts`,
`top_n` / `top_k`, `results` / `data`, `relevance_score` / `score`), in how the key is
sent, and in defaults. `RerankWire` holds those differences as data;
`CohereStyleProvider` does the rest, sans-I/O:

```python
from rerankit.declarative import CohereStyleProvider, RerankWire


class JinaProvider(CohereStyleProvider):
    wire = RerankWire(
        name="Jina AI",
        default_base="https://api.jina.ai",
        path="/v1/rerank",
        api_key_env="JINA_API_KEY",
        api_base_env=("JINA_API_BASE",),
        score_kind="probability",
    )
```

What the class does with a call:

- URL: `api_base` (argument, then the `api_base_env` variables), else `default_base`;
  `path` is appended without doubling what the base already ends with
  (`https://h/v1` + `/v1/rerank` -> `https://h/v1/rerank`; a base that is the full
  endpoint is used as-is). No default base: the address is required.
- Key: sent as `Authorization: Bearer <key>` (or `auth_header` / `auth_scheme`). With
  `key_required`, a call to the default base's host without a key is a
  `MissingApiKeyError` naming the env var; another host (a proxy, a self-hosted copy)
  gets the key only when one is given.
- Body: `model` (unless `model_field` is None), `query`, the documents' texts (or
  `{"text": ...}` objects), `top_n` under `top_n_field` only when it cuts the list, the
  return-documents flag set to false (rerankit attaches the caller's own documents, so
  the upstream need not echo them), and the declared extra parameters under their wire
  names (`parameters.truncate` nests).
- Answer: an object holding the first of `results_keys` as a list, or a bare list;
  each item an object with `index` and `score_key`; any `document` in it is ignored.
  Extra fields are ignored; missing `usage` is fine. Anything else is an
  `InvalidResponseError` carrying the body. When `top_n` was sent the ranking is
  partial (the upstream returned only the best). The core checks indices and scores.

Subclasses adjust one step by overriding `wire_for`, `model_name`, `endpoint`,
`headers` or `body`. This module imports neither httpx nor pydantic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from .errors import (
    ConfigurationError,
    InvalidParameterError,
    InvalidResponseError,
    MissingApiKeyError,
)
from .provider import HttpProvider, Param, ProviderRequest, Ranking, ScoreKind
from .wire import HttpRequest, HttpResponse

__all__ = ["RerankWire", "CohereStyleProvider", "join_endpoint"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RerankWire:
    """The data that tells one Cohere-like rerank API from another.

    Endpoint and credentials: `name` (used in messages), `path` (appended to the base),
    `default_base` (None: the caller must give the address), `api_key_env`,
    `api_key_env_aliases` (read in order when `api_key_env` is unset),
    `api_base_env` (most specific first), `key_required` (for the default base's host),
    `auth_header` and `auth_scheme` (None: the bare key), `headers` (sent always).

    Request fields: `model_field` (None: no model in the body), `documents_field`,
    `documents_as_objects` (`{"text": ...}` instead of strings), `top_n_field` (None: the
    upstream returns every document and rerankit cuts), `return_documents_field` (sent
    as false), `params` (extra parameters, validated by the core) and `param_fields`
    (their wire names when different; a dotted name nests, e.g. `parameters.truncate`).

    Response fields: `results_keys` (tried in order; a bare list is always accepted),
    `index_key`, `score_key`, `usage_key` (kept as the response's usage).

    Semantics: `score_kind`, `raw_scores_param` (a boolean parameter that, when true,
    makes the scores logits), `max_documents_per_request`.
    """

    name: str
    path: str
    default_base: str | None = None
    api_key_env: str | None = None
    api_key_env_aliases: tuple[str, ...] = ()
    api_base_env: tuple[str, ...] = ()
    key_required: bool = False
    auth_header: str = "Authorization"
    auth_scheme: str | None = "Bearer"
    headers: Mapping[str, str] = field(default_factory=dict)
    model_field: str | None = "model"
    query_field: str = "query"
    documents_field: str = "documents"
    documents_as_objects: bool = False
    top_n_field: str | None = "top_n"
    return_documents_field: str | None = "return_documents"
    params: Mapping[str, Param] = field(default_factory=dict)
    param_fields: Mapping[str, str] = field(default_factory=dict)
    results_keys: tuple[str, ...] = ("results",)
    index_key: str = "index"
    score_key: str = "relevance_score"
    usage_key: str | None = "usage"
    score_kind: ScoreKind = "unknown"
    raw_scores_param: str | None = None
    max_documents_per_request: int | None = None

    def __post_init__(self) -> None:
        unknown = sorted(set(self.param_fields) - set(self.params))
        if unknown:
            raise ValueError(f"param_fields names undeclared parameters: {unknown}")
        if self.raw_scores_param is not None and self.raw_scores_param not in self.params:
            raise ValueError(f"raw_scores_param {self.raw_scores_param!r} is not in params")
        if self.key_required and self.default_base is None:
            raise ValueError("key_required applies to the default base; set default_base")


class CohereStyleProvider(HttpProvider):
    """An HTTP provider configured entirely by its `wire` (a `RerankWire`).

    Subclass it and set `wire`; the provider attributes the core reads (`name`,
    `api_key_env`, `api_base_env`, `score_kind`, `max_documents_per_request`, `params`)
    are taken from the wire unless the subclass sets them itself.
    """

    wire: ClassVar[RerankWire]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        wire = cls.__dict__.get("wire")
        if not isinstance(wire, RerankWire):
            return
        own = cls.__dict__
        if "name" not in own:
            cls.name = wire.name
        if "api_key_env" not in own:
            cls.api_key_env = wire.api_key_env
        if "api_key_env_aliases" not in own:
            cls.api_key_env_aliases = wire.api_key_env_aliases
        if "api_base_env" not in own:
            cls.api_base_env = wire.api_base_env
        if "score_kind" not in own:
            cls.score_kind = wire.score_kind
        if "max_documents_per_request" not in own:
            cls.max_documents_per_request = wire.max_documents_per_request
        if "params" not in own:
            cls.params = dict(wire.params)

    def __init__(self) -> None:
        if not isinstance(getattr(type(self), "wire", None), RerankWire):
            raise TypeError(
                f"{type(self).__name__} must set the class attribute wire = RerankWire(...)"
            )

    # -- the steps, each overridable ------------------------------------------------------

    def wire_for(self, request: ProviderRequest) -> RerankWire:
        """The wire this call speaks (one, unless the model string selects a version)."""
        return self.wire

    def model_name(self, request: ProviderRequest) -> str:
        """The model name sent upstream."""
        return request.model

    def endpoint(self, request: ProviderRequest, wire: RerankWire) -> str:
        """The absolute URL: the base (argument, env, default) joined with the path."""
        base = request.api_base or wire.default_base
        if base is None:
            where = f" or set {wire.api_base_env[0]}" if wire.api_base_env else ""
            raise ConfigurationError(
                f"{wire.name} is self-hosted and has no default address: pass "
                f"api_base='http://<host>:<port>'{where}."
            )
        return join_endpoint(base, wire.path, provider=wire.name)

    def headers(self, request: ProviderRequest, wire: RerankWire, url: str) -> dict[str, str]:
        """Accept, the key (when given; required on the default host) and fixed headers."""
        headers = {"Accept": "application/json", **wire.headers}
        if request.api_key:
            scheme = f"{wire.auth_scheme} " if wire.auth_scheme else ""
            headers[wire.auth_header] = f"{scheme}{request.api_key}"
        elif wire.key_required and _same_host(url, wire.default_base):
            raise MissingApiKeyError(
                wire.name,
                wire.api_key_env,
                " The hosted API needs one; a compatible server at another api_base may not.",
            )
        return headers

    def body(self, request: ProviderRequest, wire: RerankWire) -> dict[str, Any]:
        """The JSON body: model, query, documents, top_n, flags and extra parameters."""
        body: dict[str, Any] = {}
        if wire.model_field is not None:
            body[wire.model_field] = self.model_name(request)
        body[wire.query_field] = request.query
        texts = request.documents
        body[wire.documents_field] = (
            [{"text": text} for text in texts] if wire.documents_as_objects else list(texts)
        )
        top_n = self.forwarded_top_n(request, wire)
        if top_n is not None and wire.top_n_field is not None:
            body[wire.top_n_field] = top_n
        if wire.return_documents_field is not None:
            body[wire.return_documents_field] = False
        for name, value in request.params.items():
            if name not in wire.params:
                accepted = ", ".join(sorted(wire.params)) or "none"
                raise InvalidParameterError(
                    f"Parameter {name!r} is not accepted by {wire.name} for model "
                    f"{request.full_model!r}. Accepted: {accepted}.",
                    parameter=name,
                )
            _put(body, wire.param_fields.get(name, name), value)
        return body

    def forwarded_top_n(self, request: ProviderRequest, wire: RerankWire) -> int | None:
        """`top_n` as sent upstream: only when the wire has the field and it cuts the list."""
        if wire.top_n_field is None or request.top_n is None:
            return None
        return request.top_n if request.top_n < len(request.documents) else None

    # -- the HttpProvider interface --------------------------------------------------------

    def build_request(self, request: ProviderRequest) -> HttpRequest:
        """`POST` the wire's JSON body to the wire's endpoint."""
        wire = self.wire_for(request)
        url = self.endpoint(request, wire)
        return HttpRequest("POST", url, self.headers(request, wire, url), self.body(request, wire))

    def parse_response(self, response: HttpResponse, request: ProviderRequest) -> Ranking:
        """The wire's result list -> `Ranking`; partial when `top_n` was sent upstream."""
        wire = self.wire_for(request)
        try:
            body = response.json()
        except ValueError:
            raise self.invalid(request, response, "the body is not JSON") from None
        items = body if isinstance(body, list) else _result_list(body, wire.results_keys)
        if items is None:
            keys = " or ".join(repr(k) for k in wire.results_keys)
            raise self.invalid(request, response, f"no {keys} list in the answer")
        scores: list[tuple[int, float]] = []
        for item in items:
            if not isinstance(item, dict) or wire.index_key not in item:
                raise self.invalid(request, response, f"result {item!r} has no {wire.index_key!r}")
            if wire.score_key not in item:
                raise self.invalid(request, response, f"result {item!r} has no {wire.score_key!r}")
            scores.append((item[wire.index_key], item[wire.score_key]))
        meta = body if isinstance(body, dict) else {}
        usage = meta.get(wire.usage_key) if wire.usage_key else None
        answer_id = meta.get("id")
        return Ranking(
            scores,
            id=answer_id if isinstance(answer_id, str) else None,
            usage=usage if isinstance(usage, dict) else None,
            partial=self.forwarded_top_n(request, wire) is not None,
        )

    def score_kind_for(self, request: ProviderRequest) -> ScoreKind:
        """Logits when the wire's raw-scores parameter is true, else the wire's kind."""
        wire = self.wire_for(request)
        if wire.raw_scores_param is not None and request.params.get(wire.raw_scores_param):
            return "logit"
        return self.score_kind

    def invalid(
        self, request: ProviderRequest, response: HttpResponse, reason: str
    ) -> InvalidResponseError:
        """The error for an answer that is not this wire's shape."""
        return InvalidResponseError(
            f"{self.name} sent an answer that is not a rerank result for model "
            f"{request.full_model!r}: {reason}.",
            provider=self.name,
            model=request.full_model,
            status_code=response.status_code,
            body=response.text,
        )


def join_endpoint(base: str, path: str, *, provider: str = "the provider") -> str:
    """`base` joined with `path`, never doubling the segments `base` already ends with.

    `http://h` + `/v1/rerank` -> `http://h/v1/rerank`; `http://h/v1/` + `/v1/rerank` ->
    `http://h/v1/rerank`; `http://h/v1/rerank` + `/v1/rerank` -> unchanged;
    `http://h/v1` + `/rerank` -> `http://h/v1/rerank`.
    """
    parts = urlsplit(base.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{provider} api_base {base!r} is not an http(s) URL; use e.g. 'http://localhost:8080'."
        )
    have = [segment for segment in parts.path.split("/") if segment]
    want = [segment for segment in path.split("/") if segment]
    overlap = 0
    for size in range(min(len(have), len(want)), 0, -1):
        if have[-size:] == want[:size]:
            overlap = size
            break
    joined = "/" + "/".join(have + want[overlap:])
    return urlunsplit((parts.scheme, parts.netloc, joined, parts.query, ""))


def _same_host(url: str, base: str | None) -> bool:
    return base is not None and urlsplit(url).hostname == urlsplit(base).hostname


def _result_list(body: Any, keys: tuple[str, ...]) -> list[Any] | None:
    if not isinstance(body, dict):
        return None
    for key in keys:
        value = body.get(key)
        if isinstance(value, list):
            return value
    return None


def _put(body: dict[str, Any], dotted: str, value: Any) -> None:
    """Set `body[a][b] = value` for `a.b`, creating the inner objects."""
    *outer, last = dotted.split(".")
    target = body
    for key in outer:
        target = target.setdefault(key, {})
    target[last] = value
