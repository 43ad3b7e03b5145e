"""The Google Vertex AI ranking provider: the Discovery Engine `rank` method.

`vertex_ai/<model>` (`semantic-ranker-default-004`, `semantic-ranker-fast-004`, ...):
`POST https://discoveryengine.googleapis.com/v1/projects/<project>/locations/<location>/
rankingConfigs/default_ranking_config:rank` with `{"model", "query", "records": [{"id",
"content"}], "topN"?, "ignoreRecordDetailsInResponse": true}`, answered by `{"records":
[{"id", "score"}]}` (best first). Record ids are the documents' positions as strings.

Authentication: a bearer OAuth token from Application Default Credentials (refreshed
before it expires), or `api_key=` taken as an OAuth access token as-is.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, ClassVar

from rerankit import HttpProvider, HttpRequest, HttpResponse, Param, ProviderRequest, Ranking
from rerankit.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidModelError,
    InvalidParameterError,
    InvalidResponseError,
    ProviderConnectionError,
)
from rerankit.provider import ScoreKind

from .adc import GoogleCredentials

if TYPE_CHECKING:  # google-auth is imported on first use, not at provider resolution
    from google.auth.credentials import Credentials

__all__ = [
    "DEFAULT_LOCATION",
    "LOCATION_ENV",
    "MAX_RECORDS",
    "PROJECT_ENV",
    "VertexAIProvider",
]

#: The ranking API's limit on records per request.
MAX_RECORDS = 200
#: Where the ranking API lives unless told otherwise.
DEFAULT_LOCATION = "global"
#: Project variables, most specific first (then ADC's own project).
PROJECT_ENV = ("VERTEXAI_PROJECT", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT")
#: Location variables, most specific first.
LOCATION_ENV = ("VERTEXAI_LOCATION", "GOOGLE_CLOUD_LOCATION")
#: What ADC reads that a user may want listed.
_ADC_ENV = ("GOOGLE_APPLICATION_CREDENTIALS",)

_MODEL = re.compile(r"[a-z0-9][a-z0-9@._-]{0,127}")
#: Project ids (`my-project-123`), numbers, and legacy domain-scoped ids (`example.com:p`).
_PROJECT = re.compile(r"[a-z0-9][a-z0-9.:-]{0,99}")
_LOCATION = re.compile(r"[a-z][a-z0-9-]{0,39}")


class VertexAIProvider(HttpProvider):
    """Google Vertex AI ranking (`vertex_ai/semantic-ranker-default-004`); scores in 0..1.

    `credentials` (a google-auth `Credentials`) replaces Application Default Credentials;
    `project` and `location` are defaults below the call's parameters and above the
    environment.
    """

    name: ClassVar[str] = "Vertex AI"
    score_kind: ClassVar[ScoreKind] = "probability"
    max_documents_per_request: ClassVar[int | None] = MAX_RECORDS
    params: ClassVar[dict[str, Param]] = {
        "vertex_project": Param(str, "Google Cloud project id or number of the call."),
        "vertex_location": Param(str, "Location of the ranking config (default 'global')."),
    }

    def __init__(
        self,
        *,
        credentials: Credentials | None = None,
        project: str | None = None,
        location: str | None = None,
    ) -> None:
        self._google = GoogleCredentials(credentials)
        self._project = _checked(_PROJECT, project, "VertexAIProvider(project=)")
        self._location = _checked(_LOCATION, location, "VertexAIProvider(location=)")

    def __repr__(self) -> str:
        return f"VertexAIProvider(project={self._project!r}, location={self._location!r})"

    def env_vars(self) -> tuple[str, ...]:
        """Every variable this provider reads itself (google-auth reads a few more)."""
        return (*_ADC_ENV, *PROJECT_ENV, *LOCATION_ENV)

    def build_request(self, request: ProviderRequest) -> HttpRequest:
        """The authorized rank request for one validated call. Raises; never sends."""
        if not _MODEL.fullmatch(request.model):
            raise InvalidModelError(
                f"Model {request.full_model!r} is not a ranking model id: use e.g. "
                f"'vertex_ai/semantic-ranker-default-004'."
            )
        location = self._location_of(request)
        project = self._project_of(request)
        config = f"projects/{project}/locations/{location}/rankingConfigs/default_ranking_config"
        url = f"{_root(request.api_base, location)}/v1/{config}:rank"
        body: dict[str, Any] = {
            "model": request.model,
            "query": request.query,
            "records": [{"id": str(i), "content": doc} for i, doc in enumerate(request.documents)],
            # rerankit attaches the caller's own documents: only ids and scores are needed.
            "ignoreRecordDetailsInResponse": True,
        }
        if _cuts(request):
            body["topN"] = request.top_n
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if request.api_key:
            headers["Authorization"] = f"Bearer {request.api_key}"
        else:
            self._authorize(headers, request)
        return HttpRequest("POST", url, headers, body)

    def parse_response(self, response: HttpResponse, request: ProviderRequest) -> Ranking:
        """`{"records": [{"id", "score"}]}` -> `Ranking`; ids are positions."""
        try:
            body = response.json()
        except ValueError:
            raise self._invalid(request, response, "the body is not JSON") from None
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise self._invalid(request, response, "no 'records' list in the answer")
        scores: list[tuple[int, Any]] = []
        for record in records:
            ident = record.get("id") if isinstance(record, dict) else None
            if not isinstance(ident, str) or not ident.isascii() or not ident.isdigit():
                why = f"record {record!r:.80} has no position id"
                raise self._invalid(request, response, why)
            # Google's JSON leaves out fields holding their default: a score of 0 is absent.
            scores.append((int(ident), record.get("score", 0.0)))
        return Ranking(scores, partial=_cuts(request))

    def error_message(self, response: HttpResponse) -> str | None:
        """Google's `{"error": {"code", "message", "status"}}` as `STATUS: message`."""
        try:
            body = response.json()
        except ValueError:
            return None
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            status = error.get("status")
            prefix = f"{status}: " if isinstance(status, str) and status else ""
            return prefix + str(error["message"])
        return super().error_message(response)

    # -- internals --------------------------------------------------------------------------

    def _project_of(self, request: ProviderRequest) -> str:
        given = _checked(_PROJECT, request.params.get("vertex_project"), "vertex_project=")
        found = given or self._project or _first_env(_PROJECT, PROJECT_ENV)
        if found is None and not request.api_key:
            found = _checked(_PROJECT, self._google.project(), "the credentials' project")
        if found is None:
            raise ConfigurationError(
                "No Google Cloud project for Vertex AI ranking: pass "
                f"vertex_project='my-project' or set {' or '.join(PROJECT_ENV)}."
            )
        return found

    def _location_of(self, request: ProviderRequest) -> str:
        given = _checked(_LOCATION, request.params.get("vertex_location"), "vertex_location=")
        return given or self._location or _first_env(_LOCATION, LOCATION_ENV) or DEFAULT_LOCATION

    def _authorize(self, headers: dict[str, str], request: ProviderRequest) -> None:
        from google.auth import exceptions

        try:
            self._google.authorize(headers)
        except exceptions.RefreshError as exc:
            raise AuthenticationError(
                f"Google refused to issue an access token for {request.full_model!r}: {exc}. "
                "Check GOOGLE_APPLICATION_CREDENTIALS or run 'gcloud auth application-default "
                "login'.",
                provider=self.name,
                model=request.full_model,
            ) from None
        except exceptions.TransportError as exc:
            raise ProviderConnectionError(
                f"Could not reach Google's token endpoint for {request.full_model!r}: {exc}.",
                provider=self.name,
                model=request.full_model,
            ) from None

    def _invalid(self, request: ProviderRequest, response: HttpResponse, why: str) -> Exception:
        return InvalidResponseError(
            f"{self.name} sent an answer rerankit cannot read for model "
            f"{request.full_model!r}: {why}.",
            provider=self.name,
            model=request.full_model,
            status_code=response.status_code,
            body=response.text,
        )


def _cuts(request: ProviderRequest) -> bool:
    return request.top_n is not None and request.top_n < len(request.documents)


def _root(base: str | None, location: str) -> str:
    """The API root: the base without a trailing `/` or `/v1`, else Google's host."""
    if base:
        return base.strip().rstrip("/").removesuffix("/v1")
    if location == DEFAULT_LOCATION:
        return "https://discoveryengine.googleapis.com"
    return f"https://{location}-discoveryengine.googleapis.com"


def _first_env(pattern: re.Pattern[str], names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name)
        if value:
            return _checked(pattern, value, name)
    return None


def _checked(pattern: re.Pattern[str], value: Any, source: str) -> str | None:
    """`value` if it fits `pattern` (it becomes part of a URL); None stays None."""
    if value is None:
        return None
    if isinstance(value, str) and pattern.fullmatch(value):
        return value
    what = "project id" if pattern is _PROJECT else "location"
    message = f"{value!r} from {source} is not a Google Cloud {what}."
    if source.endswith("="):
        raise InvalidParameterError(message, parameter=source.rstrip("="))
    raise ConfigurationError(message)
