"""The AWS Bedrock provider: the Agent Runtime `Rerank` API, or Cohere's body via InvokeModel.

Rerank (`bedrock/<model id or ARN>`): `POST https://bedrock-agent-runtime.<region>.
amazonaws.com/rerank` with `{"queries": [{"type": "TEXT", "textQuery": {"text"}}],
"sources": [{"type": "INLINE", "inlineDocumentSource": {"type": "TEXT", "textDocument":
{"text"}}}], "rerankingConfiguration": {"type": "BEDROCK_RERANKING_MODEL",
"bedrockRerankingConfiguration": {"numberOfResults", "modelConfiguration": {"modelArn",
"additionalModelRequestFields"?}}}}`, answered by `{"results": [{"index",
"relevanceScore", "document"?}], "nextToken"?}`.

InvokeModel (`bedrock/invoke/<cohere model>`): `POST https://bedrock-runtime.<region>.
amazonaws.com/model/<model id>/invoke` with Cohere's `{"query", "documents", "api_version":
2, "top_n"?, "max_tokens_per_doc"?}`, answered by `{"id", "results": [{"index",
"relevance_score"}]}`.

Authentication: SigV4 (service `bedrock`) with the standard credential chain, signed in
`build_request` over the exact body bytes (`HttpRequest.content`). A Bedrock API key
(`api_key=`, or `AWS_BEARER_TOKEN_BEDROCK` for InvokeModel as botocore reads it) is sent as
a bearer token instead; AWS does not accept such keys on the Agent Runtime, so `api_key=`
for `Rerank` on an AWS host is refused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from rerankit import HttpProvider, HttpRequest, HttpResponse, Param, ProviderRequest, Ranking
from rerankit.errors import (
    ConfigurationError,
    InvalidParameterError,
    InvalidRequestError,
    InvalidResponseError,
)
from rerankit.provider import ScoreKind

from .aws import CREDENTIAL_ENV, ENDPOINT_ENV, REGION_ENV, CredentialChain, check_region
from .aws import configured_endpoint as _configured_endpoint
from .models import INVOKE_PREFIX, ModelRef, foundation_model_arn, host_suffix, parse_model
from .sigv4 import AwsCredentials, sign

__all__ = ["BedrockProvider", "BEARER_ENV", "MAX_TEXT_CHARS"]

#: botocore's variable for a Bedrock API key (Bedrock Runtime only).
BEARER_ENV = "AWS_BEARER_TOKEN_BEDROCK"
#: The Rerank API's limit on the query and on each document, in characters (1..32000).
MAX_TEXT_CHARS = 32_000
#: SigV4's service name for both Bedrock APIs.
_SIGNING_NAME = "bedrock"
_SERVICES = {"rerank": "bedrock-agent-runtime", "invoke": "bedrock-runtime"}
_RERANK_ONLY = "additional_model_request_fields"
_INVOKE_ONLY = "max_tokens_per_doc"


class BedrockProvider(HttpProvider):
    """AWS Bedrock reranking (`bedrock/amazon.rerank-v1:0`, `bedrock/cohere.rerank-v3-5:0`).

    `credentials` and `region` fix what the standard chain would otherwise find (a region
    argument or the model ARN's region still wins); `clock` gives the signing time (tests).
    """

    name: ClassVar[str] = "AWS Bedrock"
    score_kind: ClassVar[ScoreKind] = "probability"
    # The Rerank API takes 1..1000 sources; Cohere's body takes up to 1000 documents.
    max_documents_per_request: ClassVar[int | None] = 1000
    params: ClassVar[dict[str, Param]] = {
        "aws_region_name": Param(str, "AWS region of the call, e.g. 'us-west-2'."),
        "aws_profile_name": Param(str, "Profile of the shared AWS config to sign with."),
        _RERANK_ONLY: Param(dict, "Rerank API: additionalModelRequestFields for the model."),
        _INVOKE_ONLY: Param(int, "InvokeModel (Cohere): tokens kept per document.", minimum=1),
    }

    def __init__(
        self,
        *,
        credentials: AwsCredentials | None = None,
        region: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._credentials = credentials
        self._region = check_region(region, "BedrockProvider(region=)") if region else None
        self._clock = clock or _utc_now
        self._chain = CredentialChain()

    def __repr__(self) -> str:
        fixed = "fixed" if self._credentials else "standard chain"
        return f"BedrockProvider(credentials={fixed}, region={self._region!r})"

    def env_vars(self) -> tuple[str, ...]:
        """Every variable this provider reads itself (botocore reads more: config files...)."""
        endpoints = dict.fromkeys(name for names in ENDPOINT_ENV.values() for name in names)
        return (*CREDENTIAL_ENV, BEARER_ENV, *REGION_ENV, *endpoints)

    # -- request ----------------------------------------------------------------------------

    def build_request(self, request: ProviderRequest) -> HttpRequest:
        """The signed (or bearer) request for one validated call. Raises; never sends."""
        ref = parse_model(request.model, request.full_model)
        _check_route_params(ref, request)
        region = _Region(ref, request, self._region, self._chain)
        base = request.api_base or _configured_endpoint(_SERVICES[ref.api])
        if ref.api == "rerank":
            _check_texts(request)
            url = f"{_root(base, 'bedrock-agent-runtime', region)}/rerank"
            body = _rerank_body(ref, request, region)
        else:
            # ':' stays literal (as in AWS's own curl examples): aiohttp would decode a
            # `%3A` before sending and so change the path that was signed.
            model = quote(ref.target, safe=":")
            url = f"{_root(base, 'bedrock-runtime', region)}/model/{model}/invoke"
            body = _invoke_body(request)
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        token = request.api_key or (os.environ.get(BEARER_ENV) if ref.api == "invoke" else None)
        if request.api_key and ref.api == "rerank" and _is_aws_host(url):
            raise ConfigurationError(
                "Bedrock's Rerank API (Agents for Amazon Bedrock Runtime) does not accept "
                "Bedrock API keys: drop api_key= to sign with AWS credentials, or use the "
                "InvokeModel route ('bedrock/invoke/<cohere model>'), which does."
            )
        if token:
            headers["Authorization"] = f"Bearer {token}"
            return HttpRequest("POST", url, headers, body, content=content)
        credentials = self._credentials or self._chain.credentials(_profile(request))
        signed = sign(
            "POST",
            url,
            headers,
            content,
            credentials=credentials,
            region=region.get(),
            service=_SIGNING_NAME,
            now=self._clock(),
        )
        return HttpRequest("POST", url, signed, body, content=content)

    # -- response ---------------------------------------------------------------------------

    def parse_response(self, response: HttpResponse, request: ProviderRequest) -> Ranking:
        """Rerank's `relevanceScore` results or Cohere's `relevance_score` ones -> `Ranking`."""
        invoke = request.model.startswith(INVOKE_PREFIX)
        score_key = "relevance_score" if invoke else "relevanceScore"
        try:
            body = response.json()
        except ValueError:
            raise self._invalid(request, response, "the body is not JSON") from None
        results = body.get("results") if isinstance(body, dict) else None
        if not isinstance(results, list):
            raise self._invalid(request, response, "no 'results' list in the answer")
        if isinstance(body, dict) and body.get("nextToken"):
            raise self._invalid(
                request,
                response,
                "Bedrock paged the results (nextToken), which rerankit does not follow; "
                "send fewer documents per request (max_documents_per_request=)",
            )
        scores = []
        for item in results:
            if not isinstance(item, dict) or "index" not in item or score_key not in item:
                raise self._invalid(request, response, f"result {item!r:.80} lacks index/score")
            scores.append((item["index"], item[score_key]))
        answer_id, meta = body.get("id"), body.get("meta")
        return Ranking(
            scores,
            id=answer_id if isinstance(answer_id, str) else None,
            usage=meta if isinstance(meta, dict) else None,
            partial=_cuts(request),
        )

    def error_message(self, response: HttpResponse) -> str | None:
        """AWS's error code (`x-amzn-ErrorType` or `__type`) and message, e.g.
        `ThrottlingException: Too many requests, please wait before trying again.`"""
        try:
            body = response.json()
        except ValueError:
            body = None
        message = super().error_message(response)
        code = response.headers.get("x-amzn-errortype", "").split(":")[0].strip()
        if not code and isinstance(body, dict):
            raw = body.get("__type") or body.get("code") or ""
            code = str(raw).rsplit("#", 1)[-1].split(":")[0].strip()
        if message is None and isinstance(body, dict) and isinstance(body.get("Message"), str):
            message = body["Message"]
        if code and message:
            return f"{code}: {message}"
        return code or message

    def _invalid(self, request: ProviderRequest, response: HttpResponse, why: str) -> Exception:
        return InvalidResponseError(
            f"{self.name} sent an answer rerankit cannot read for model "
            f"{request.full_model!r}: {why}.",
            provider=self.name,
            model=request.full_model,
            status_code=response.status_code,
            body=response.text,
        )


class _Region:
    """The call's region, looked up only when needed (an ARN, a host or a signature)."""

    def __init__(
        self, ref: ModelRef, request: ProviderRequest, default: str | None, chain: CredentialChain
    ) -> None:
        self._ref, self._request, self._default, self._chain = ref, request, default, chain
        self._found: str | None = None

    def get(self) -> str:
        if self._found is None:
            self._found = self._lookup()
        return self._found

    def _lookup(self) -> str:
        given = self._request.params.get("aws_region_name")
        arn_region = self._ref.arn_region
        if given is not None:
            given = check_region(given, "aws_region_name=")
            if arn_region and arn_region != given:
                raise InvalidParameterError(
                    f"aws_region_name={given!r} contradicts the model ARN's region "
                    f"{arn_region!r}: drop one.",
                    parameter="aws_region_name",
                )
            return given
        found = arn_region or self._default or self._chain.region(_profile(self._request))
        if not found:
            raise ConfigurationError(
                "No AWS region for Bedrock: set AWS_REGION (or AWS_DEFAULT_REGION, or a "
                "profile's region), pass aws_region_name='us-west-2', or use a model ARN."
            )
        return found


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _profile(request: ProviderRequest) -> str | None:
    profile = request.params.get("aws_profile_name")
    return profile if isinstance(profile, str) else None


def _root(base: str | None, service: str, region: _Region) -> str:
    """The service's root URL: the configured base without trailing `/`, else AWS's host."""
    if base:
        return base.strip().rstrip("/")
    name = region.get()
    return f"https://{service}.{name}.{host_suffix(name)}"


def _is_aws_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))


def _cuts(request: ProviderRequest) -> bool:
    return request.top_n is not None and request.top_n < len(request.documents)


def _check_route_params(ref: ModelRef, request: ProviderRequest) -> None:
    wrong = _INVOKE_ONLY if ref.api == "rerank" else _RERANK_ONLY
    if wrong in request.params:
        other = "InvokeModel ('bedrock/invoke/...')" if ref.api == "rerank" else "Rerank API"
        raise InvalidParameterError(
            f"Parameter {wrong!r} belongs to the {other} route, not to model "
            f"{request.full_model!r}.",
            parameter=wrong,
        )


def _check_texts(request: ProviderRequest) -> None:
    """The Rerank API takes 1..32000 characters per query and per document."""
    texts: list[tuple[str, str]] = [("query", request.query)]
    texts += [(f"document {i} of this request", doc) for i, doc in enumerate(request.documents)]
    for what, text in texts:
        if not 1 <= len(text) <= MAX_TEXT_CHARS:
            raise InvalidRequestError(
                f"Bedrock's Rerank API takes 1 to {MAX_TEXT_CHARS} characters per text; "
                f"the {what} has {len(text)}: shorten it or leave it out."
            )


def _rerank_body(ref: ModelRef, request: ProviderRequest, region: _Region) -> dict[str, Any]:
    arn = ref.arn or foundation_model_arn(ref.model_id or "", region.get())
    model: dict[str, Any] = {"modelArn": arn}
    extra: Mapping[str, Any] | None = request.params.get(_RERANK_ONLY)
    if extra:
        model["additionalModelRequestFields"] = dict(extra)
    count = request.top_n if _cuts(request) else len(request.documents)
    return {
        "queries": [{"type": "TEXT", "textQuery": {"text": request.query}}],
        "sources": [_source(text) for text in request.documents],
        "rerankingConfiguration": {
            "type": "BEDROCK_RERANKING_MODEL",
            "bedrockRerankingConfiguration": {
                "numberOfResults": count,
                "modelConfiguration": model,
            },
        },
    }


def _source(text: str) -> dict[str, Any]:
    document = {"type": "TEXT", "textDocument": {"text": text}}
    return {"type": "INLINE", "inlineDocumentSource": document}


def _invoke_body(request: ProviderRequest) -> dict[str, Any]:
    body: dict[str, Any] = {
        "query": request.query,
        "documents": list(request.documents),
        # Cohere's Rerank 3.5 on Bedrock requires the API version (2) in the body.
        "api_version": 2,
    }
    if _cuts(request):
        body["top_n"] = request.top_n
    if _INVOKE_ONLY in request.params:
        body[_INVOKE_ONLY] = request.params[_INVOKE_ONLY]
    return body
