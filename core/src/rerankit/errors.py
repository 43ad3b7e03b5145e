"""Every error rerankit raises, in one tree.

```
RerankitError
├── ConfigurationError                 the setup is wrong: fix code or environment
│   ├── UnknownProviderError           no provider under that prefix (lists installed ones)
│   ├── DuplicateProviderError         two plugins claim one prefix (names both)
│   ├── MissingApiKeyError             no key: names the env var to set
│   └── PluginLoadError                a plugin failed to import or register
├── InvalidRequestError (ValueError)   the call's input is wrong: nothing was sent
│   ├── InvalidModelError              malformed model string or unsafe model path
│   └── InvalidParameterError          unknown or ill-typed parameter (names it, lists allowed)
└── ProviderError                      the upstream call failed (provider, model, status, body)
    ├── APIStatusError                 upstream answered with an error status
    │   ├── BadRequestError            400, 422
    │   ├── AuthenticationError        401
    │   ├── PermissionDeniedError      403
    │   ├── NotFoundError              404
    │   ├── RequestTooLargeError       413
    │   ├── RateLimitError             429 (carries retry_after)
    │   └── ServerError                5xx
    ├── ProviderTimeoutError           no answer within the timeout
    ├── ProviderConnectionError        could not connect, or the connection broke
    └── InvalidResponseError           an answer we cannot turn into a correct ranking
```

After retries a `ProviderError` says how many `attempts` were made and the `last_status`
seen; a failed chunk of a split call names its `document_range`; the last model of a
failed fallback chain lists the models tried before it in `fallbacks_tried`. These are
attributes, set as the call learns them and rendered by `str(error)` after the message the
error was built with (`error.args` stays that message).

`RerankitWarning` is the category of every warning rerankit gives.

Messages say what to do. API keys never appear in messages or reprs: errors carry the
provider, the model, the status code and a trimmed body, never request headers; the
clients mask the call's key and any `user:password@` of its base URL in every error's
message and body.

Upstream text is bounded wherever it enters an error: `excerpt` cuts it (the body to
`BODY_LIMIT` characters, a `ProviderError`'s whole message to `MESSAGE_LIMIT`), so a
megabyte-long upstream message makes a short error and a short log line.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "RerankitWarning",
    "RerankitError",
    "ConfigurationError",
    "UnknownProviderError",
    "DuplicateProviderError",
    "MissingApiKeyError",
    "PluginLoadError",
    "InvalidRequestError",
    "InvalidModelError",
    "InvalidParameterError",
    "ProviderError",
    "APIStatusError",
    "BadRequestError",
    "AuthenticationError",
    "PermissionDeniedError",
    "NotFoundError",
    "RequestTooLargeError",
    "RateLimitError",
    "ServerError",
    "ProviderTimeoutError",
    "ProviderConnectionError",
    "InvalidResponseError",
    "status_error",
    "excerpt",
    "BODY_LIMIT",
    "MESSAGE_LIMIT",
]

#: How much of an upstream body an error keeps; enough to read the upstream's message.
BODY_LIMIT = 500
#: How long a `ProviderError`'s message may be when built (notes added later are short).
MESSAGE_LIMIT = 2000


def excerpt(text: str, limit: int = BODY_LIMIT) -> str:
    """`text` cut to `limit` characters, saying how much was left out.

    Use it wherever upstream text (a body, a message, a value from an answer) goes into
    an error message or a log line.
    """
    if len(text) <= limit:
        return text
    return text[:limit] + f"... ({len(text) - limit} more chars)"


class RerankitWarning(UserWarning):
    """Something was done that the caller may not expect (e.g. parameters dropped)."""


class RerankitError(Exception):
    """Base class of every error rerankit raises."""


class ConfigurationError(RerankitError):
    """The installation, the environment or the client setup is wrong."""


class UnknownProviderError(ConfigurationError):
    """No provider is registered under the model's prefix."""

    def __init__(self, prefix: str, installed: list[str], suggestion: str | None = None) -> None:
        self.prefix = prefix
        self.installed = installed
        self.suggestion = suggestion
        hint = f" Did you mean {suggestion!r}?" if suggestion else ""
        listed = ", ".join(installed) if installed else "none"
        super().__init__(
            f"No rerank provider is registered under the prefix {prefix!r}.{hint} "
            f"Installed prefixes: {listed}. Install the provider's plugin "
            f"(e.g. pip install rerankit-<provider>) or check RERANKIT_LOAD_PLUGINS."
        )


class DuplicateProviderError(ConfigurationError):
    """Two plugins register a provider under the same prefix."""

    def __init__(self, prefix: str, first: str, second: str) -> None:
        self.prefix = prefix
        self.plugins = (first, second)
        super().__init__(
            f"Both plugin {first!r} and plugin {second!r} register the provider prefix "
            f"{prefix!r}. Uninstall one, or restrict loading with RERANKIT_LOAD_PLUGINS."
        )


class MissingApiKeyError(ConfigurationError):
    """The provider needs an API key and none was given."""

    def __init__(self, provider: str, env_var: str | None, detail: str = "") -> None:
        self.provider = provider
        self.env_var = env_var
        where = f"set {env_var} or pass api_key=" if env_var else "pass api_key="
        super().__init__(f"Provider {provider!r} needs an API key: {where}.{detail}")


class PluginLoadError(ConfigurationError):
    """A plugin could not be imported or failed while registering."""


class InvalidRequestError(RerankitError, ValueError):
    """The call's input is wrong; nothing was sent upstream."""


class InvalidModelError(InvalidRequestError):
    """The model string is malformed, or its model path is unsafe for a URL."""


class InvalidParameterError(InvalidRequestError):
    """A parameter is unknown, ill-typed or out of range."""

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        self.parameter = parameter
        super().__init__(message)


class ProviderError(RerankitError):
    """An upstream call failed. Carries the provider, the model and what came back.

    After retries, `attempts` is how many requests were made for the failed part of the
    call and `last_status` the last upstream HTTP status seen (None: no answer at all).
    `retry_after` is the upstream's requested wait in seconds, if it sent `Retry-After`.
    `document_range` is the `(start, stop)` slice of the caller's documents whose request
    failed when a large call was split into chunks (`document_count`: how many the call
    had); `document_index` names one document when the failure can be pinned on it (e.g.
    an over-long document, `document_length` characters long). `fallbacks_tried` lists the
    models that failed before this one in a fallback chain, as `meta.fallbacks_tried` does.

    `str(error)` is the message the error was built with, followed by what these
    attributes add (attempts given up after, the failed documents, earlier fallbacks).
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        model: str | None = None,
        status_code: int | None = None,
        body: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.provider = provider
        self.model = model
        self.status_code = status_code
        self.body = excerpt(body) if body is not None else None
        self.retry_after = retry_after
        self.attempts = 1
        self.last_status = status_code
        #: Whether `str()` says "gave up after N attempts" (not when the message counts them).
        self.attempts_noted = False
        self.document_range: tuple[int, int] | None = None
        self.document_count: int | None = None
        self.document_index: int | None = None
        self.document_length: int | None = None
        self.fallbacks_tried: list[dict[str, Any]] = []
        # One rule for every provider, first- or third-party: however much upstream text
        # a message quotes, the error (and each log line of it) stays short.
        super().__init__(excerpt(message, MESSAGE_LIMIT))

    def __str__(self) -> str:
        message = super().__str__()
        if self.attempts_noted and self.attempts > 1:
            status = f", last upstream status {self.last_status}" if self.last_status else ""
            message = f"{message} (gave up after {self.attempts} attempts{status})"
        notes = self._document_notes()
        if notes:
            message = f"{message} [{'; '.join(notes)}]"
        if self.fallbacks_tried:
            earlier = "; ".join(f"{t['model']}: {t['error']}" for t in self.fallbacks_tried)
            message = f"{message} (every fallback failed; earlier: {earlier})"
        return message

    def _document_notes(self) -> list[str]:
        """Which of the caller's documents the failed request carried, and which is at fault."""
        notes: list[str] = []
        span, count = self.document_range, self.document_count
        if span is not None and count is not None and span[1] - span[0] < count:
            notes.append(f"documents {span[0]}..{span[1] - 1} of {count} failed")
        index = self.document_index
        if index is not None and span is not None:
            if span[1] - span[0] == 1:
                notes.append(f"documents[{index}] is too long for the model")
            else:
                notes.append(
                    f"most likely documents[{index}], the longest in that request "
                    f"({self.document_length} characters), is too long for the model"
                )
            notes.append("pass the provider's truncation parameter (NIM: truncate='END') to cut it")
        return notes


class APIStatusError(ProviderError):
    """The upstream answered with an error status."""


class BadRequestError(APIStatusError):
    """400 or 422: the upstream rejected the request as invalid."""


class AuthenticationError(APIStatusError):
    """401: the key is missing, wrong or expired."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not use this model or endpoint."""


class NotFoundError(APIStatusError):
    """404: the model or endpoint does not exist at this base URL."""


class RequestTooLargeError(APIStatusError):
    """413: the request is too large for the upstream (too many or too long documents)."""


class RateLimitError(APIStatusError):
    """429: too many requests. `retry_after` is the upstream's wait in seconds, if it said."""


class ServerError(APIStatusError):
    """5xx: the upstream failed."""


class ProviderTimeoutError(ProviderError):
    """No complete answer within the timeout."""


class ProviderConnectionError(ProviderError):
    """Could not connect to the upstream, or the connection broke mid-answer."""


class InvalidResponseError(ProviderError):
    """The upstream's answer cannot be turned into a correct ranking."""


_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: RequestTooLargeError,
    422: BadRequestError,
    429: RateLimitError,
}

_STATUS_ADVICE: dict[type[APIStatusError], str] = {
    AuthenticationError: " Check the API key.",
    PermissionDeniedError: " The key may not use this model.",
    NotFoundError: " Check the model name and the base URL.",
    RateLimitError: " Slow down or retry later.",
}


def status_error(
    status_code: int,
    *,
    provider: str,
    model: str,
    body: str,
    upstream_message: str | None = None,
    retry_after: float | None = None,
) -> APIStatusError:
    """Build the typed error for an upstream error status."""
    cls = _STATUS_CLASSES.get(status_code)
    if cls is None:
        cls = ServerError if status_code >= 500 else APIStatusError
    detail = f": {excerpt(upstream_message)}" if upstream_message else ""
    message = (
        f"{provider} answered HTTP {status_code} for model {model!r}{detail}."
        f"{_STATUS_ADVICE.get(cls, '')}"
    )
    return cls(
        message,
        provider=provider,
        model=model,
        status_code=status_code,
        body=body,
        retry_after=retry_after,
    )
