"""`RerankitRerank`: a LangChain document compressor backed by any rerankit model."""

from __future__ import annotations

import asyncio
import string
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field, SecretStr, field_validator

import rerankit
from rerankit.errors import ConfigurationError, InvalidRequestError
from rerankit.provider import CALL_ARGUMENTS

if TYPE_CHECKING:
    # langchain_core.callbacks loads LangChain's tracers (langsmith): seconds at import.
    from langchain_core.callbacks import Callbacks

__all__ = ["RerankitRerank"]


class RerankitRerank(BaseDocumentCompressor):
    """Rerank LangChain `Document`s with any rerankit model, best first.

    ```py
    compressor = RerankitRerank(model="cohere/rerank-v3.5", top_n=3)
    retriever = ContextualCompressionRetriever(
        base_compressor=compressor, base_retriever=base_retriever
    )
    ```

    Each returned document is a copy of the input with its metadata kept and
    `metadata["relevance_score"]` (the model's score) and `metadata["score_kind"]`
    (`"logit"`, `"probability"`, ... from rerankit's response meta) added. Errors are
    rerankit's typed errors (`rerankit.errors`), raised as they are.
    """

    # hide_input_in_errors: a ValidationError would otherwise quote the values, keys included.
    model_config = ConfigDict(
        arbitrary_types_allowed=True, extra="forbid", hide_input_in_errors=True
    )

    model: str
    """A rerankit model string, `prefix/model-name` (e.g. `nvidia_nim/nvidia/...`)."""
    top_n: int | None = Field(default=3, ge=1)
    """How many documents to return; `None` returns every document, reordered."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Provider parameters (e.g. `{"truncate": "END"}` for NIM), validated by rerankit."""
    api_key: SecretStr | None = None
    """The provider's key; unset, rerankit reads the provider's environment variable."""
    api_base: str | None = None
    """The provider's base URL (a self-hosted server or a proxy)."""
    timeout: float | None = Field(default=None, gt=0)
    """Seconds for the whole call (retries and fallbacks included); unset: rerankit's."""
    max_retries: int | None = Field(default=None, ge=0)
    """Retries of a failed request; unset: rerankit's default."""
    fallbacks: list[str] | None = None
    """Models tried in order when `model` fails after its retries."""
    document_template: str | None = None
    """What is reranked: a `{name}` template over `page_content` and metadata keys, as
    LangChain's f-string prompts (e.g. `"{title}\\n{page_content}"`); unset, the
    `page_content`."""
    client: rerankit.Client | None = Field(default=None, exclude=True)
    """An existing sync client (its transport, registry, pool); unset: the shared one."""
    async_client: rerankit.AsyncClient | None = Field(default=None, exclude=True)
    """An existing async client for `acompress_documents`; unset: the shared one (or,
    if only `client` is given, `client` on a worker thread)."""

    @field_validator("model")
    @classmethod
    def _model_is_prefixed(cls, value: str) -> str:
        # Fail at construction rather than at the first query; rerankit checks the rest.
        if "/" not in value:
            raise ValueError(
                f"model must be a rerankit model string 'prefix/model-name' "
                f"(e.g. 'local/bm25'), got {value!r}"
            )
        return value

    @field_validator("params")
    @classmethod
    def _params_are_provider_params(cls, value: dict[str, Any]) -> dict[str, Any]:
        taken = sorted(CALL_ARGUMENTS & set(value))
        if taken:
            raise ValueError(
                f"params holds {taken}: pass them as RerankitRerank's own options "
                f"(params is for provider parameters such as truncate)"
            )
        return value

    @field_validator("document_template")
    @classmethod
    def _template_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            _template_fields(value)  # raises ValueError for a broken or unsafe template
        return value

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """Rerank `documents` against `query`; the best `top_n` first.

        `callbacks` is part of LangChain's interface; rerankit reports nothing through it
        (LangChain has no rerank event), as LangChain's own rerankers.
        """
        if not documents:
            return []
        texts = self._texts(documents)
        if self.client is not None:
            response = self.client.rerank(self.model, query, texts, **self._call_options())
        elif self.async_client is not None:
            raise ConfigurationError(
                "RerankitRerank was given only async_client=: call acompress_documents, "
                "or pass client=rerankit.Client(...) for synchronous calls."
            )
        else:
            response = rerankit.rerank(self.model, query, texts, **self._call_options())
        return self._ranked(documents, response)

    async def acompress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """Async `compress_documents`, on rerankit's native async I/O."""
        if not documents:
            return []
        texts = self._texts(documents)
        options = self._call_options()
        if self.async_client is not None:
            response = await self.async_client.rerank(self.model, query, texts, **options)
        elif self.client is not None:
            # The caller chose this client's transport and settings: keep them, off-loop.
            response = await asyncio.to_thread(
                self.client.rerank, self.model, query, texts, **options
            )
        else:
            response = await rerankit.arerank(self.model, query, texts, **options)
        return self._ranked(documents, response)

    def _call_options(self) -> dict[str, Any]:
        """Keyword arguments of `rerank`: only what was set, so rerankit's defaults hold."""
        options: dict[str, Any] = {**self.params, "top_n": self.top_n, "return_documents": False}
        if self.api_key is not None:
            options["api_key"] = self.api_key.get_secret_value()
        for name in ("api_base", "timeout", "max_retries", "fallbacks"):
            value = getattr(self, name)
            if value is not None:
                options[name] = value
        return options

    def _texts(self, documents: Sequence[Document]) -> list[str]:
        template = self.document_template
        fields = set(_template_fields(template)) if template is not None else set()
        texts = []
        for i, doc in enumerate(documents):
            if template is None:
                text = doc.page_content
            else:
                missing = sorted(fields - {"page_content", *doc.metadata})
                if missing:
                    raise InvalidRequestError(
                        f"documents[{i}] lacks metadata {missing} used by document_template "
                        f"{template!r}: add it to every document or change the template."
                    )
                try:
                    text = template.format_map({**doc.metadata, "page_content": doc.page_content})
                except (ValueError, TypeError) as exc:  # a format spec the value cannot take
                    raise InvalidRequestError(
                        f"documents[{i}] does not fit document_template {template!r}: {exc}"
                    ) from None
            if not isinstance(text, str) or not text.strip():
                what = "page_content" if template is None else "document_template's text"
                raise InvalidRequestError(
                    f"documents[{i}] has no text to rerank (its {what} is empty): drop "
                    f"empty documents before reranking."
                )
            texts.append(text)
        return texts

    @staticmethod
    def _ranked(documents: Sequence[Document], response: rerankit.RerankResponse) -> list[Document]:
        score_kind = response.meta.score_kind if response.meta is not None else "unknown"
        ranked = []
        for result in response.results:
            doc = documents[result.index]
            metadata = {
                **doc.metadata,
                "relevance_score": result.relevance_score,
                "score_kind": score_kind,
            }
            ranked.append(doc.model_copy(update={"metadata": metadata}))
        return ranked


def _template_fields(template: str) -> list[str]:
    """The names a `{name}` template uses; ValueError unless every one is a plain name.

    Attribute access or indexing (`{page_content.__class__}`) would reach into objects, and
    a nested field in a format spec is evaluated too: both are refused, whatever the
    installed langchain-core would allow.
    """
    try:
        parts = [(name, spec) for _, name, spec, _ in string.Formatter().parse(template)]
    except ValueError as exc:
        raise ValueError(f"document_template {template!r} is not a valid template: {exc}") from None
    fields = [name for name, _ in parts if name is not None]
    unsafe = [name for name, spec in parts if name is not None and not name.isidentifier()]
    nested = [spec for _, spec in parts if spec and ("{" in spec or "}" in spec)]
    if unsafe or nested or not fields:
        raise ValueError(
            f"document_template must name fields as plain '{{name}}' placeholders "
            f"(page_content or metadata keys), got {template!r}"
        )
    return fields
