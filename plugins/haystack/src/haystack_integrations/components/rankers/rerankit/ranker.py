"""`RerankitRanker`: a Haystack ranker component backed by any rerankit model."""

# No `from __future__ import annotations`: Haystack reads run()'s annotations as types to
# build the component's sockets, and Haystack 2.12 (tested) cannot resolve strings.
import asyncio
import dataclasses
from collections.abc import Sequence
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict
from haystack.utils import Secret, deserialize_secrets_inplace

import rerankit
from rerankit.errors import ConfigurationError, InvalidParameterError, InvalidRequestError
from rerankit.provider import CALL_ARGUMENTS

__all__ = ["RerankitRanker", "SCORE_KIND_KEY"]

#: Options of the ranker's own: rerankit's call arguments, and Haystack's `top_k`.
_OWN_OPTIONS = CALL_ARGUMENTS | {"top_k"}

#: The meta key of each returned document that says what its score means.
SCORE_KIND_KEY = "score_kind"


@component
class RerankitRanker:
    """Rank Haystack `Document`s by relevance to a query with any rerankit model.

    ```py
    from haystack_integrations.components.rankers.rerankit import RerankitRanker

    ranker = RerankitRanker(model="cohere/rerank-v3.5", top_k=3)
    result = ranker.run(query="What is the capital of France?", documents=docs)
    result["documents"]  # best first, Document.score set
    ```

    Each returned document is a copy of the input with `score` set to the model's
    relevance score and `meta["score_kind"]` (`"logit"`, `"probability"`, ...) added.
    Errors are rerankit's typed errors (`rerankit.errors`), raised as they are.
    """

    def __init__(
        self,
        model: str,
        top_k: int | None = 10,
        *,
        params: dict[str, Any] | None = None,
        api_key: Secret | None = None,
        api_base: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        fallbacks: list[str] | None = None,
        meta_fields_to_embed: list[str] | None = None,
        meta_data_separator: str = "\n",
        client: rerankit.Client | None = None,
        async_client: rerankit.AsyncClient | None = None,
    ) -> None:
        """Create the ranker; nothing is sent until `run`.

        :param model: A rerankit model string, `prefix/model-name` (e.g. `local/bm25`).
        :param top_k: Documents to return, best first; `None` returns every document.
        :param params: Provider parameters (e.g. `{"truncate": "END"}`), checked by rerankit.
        :param api_key: The provider's key as a Haystack `Secret` (e.g.
            `Secret.from_env_var("COHERE_API_KEY")`); unset, rerankit reads the provider's
            environment variable.
        :param api_base: The provider's base URL (a self-hosted server or a proxy).
        :param timeout: Seconds for the whole call (retries, fallbacks); unset: rerankit's.
        :param max_retries: Retries of a failed request; unset: rerankit's default.
        :param fallbacks: Models tried in order when `model` fails after its retries.
        :param meta_fields_to_embed: Meta fields whose values are put before the content,
            one per line, in what the model reads.
        :param meta_data_separator: What joins the meta values and the content.
        :param client: An existing `rerankit.Client` for `run` (not serialisable).
        :param async_client: An existing `rerankit.AsyncClient` for `run_async`.
        """
        if not isinstance(model, str) or "/" not in model:
            raise InvalidRequestError(
                f"model must be a rerankit model string 'prefix/model-name' "
                f"(e.g. 'local/bm25'), got {model!r}."
            )
        _check_whole("top_k", top_k, minimum=1, optional=True)
        _check_whole("max_retries", max_retries, minimum=0, optional=True)
        if timeout is not None and not (isinstance(timeout, int | float) and timeout > 0):
            raise InvalidParameterError(
                f"timeout must be a number of seconds > 0, got {timeout!r}.", parameter="timeout"
            )
        taken = sorted(_OWN_OPTIONS & set(params or {}))
        if taken:
            raise InvalidParameterError(
                f"params holds {taken}: pass them as RerankitRanker's own options (params "
                f"is for provider parameters such as truncate).",
                parameter="params",
            )
        if api_key is not None and not isinstance(api_key, Secret):
            raise InvalidParameterError(
                "api_key must be a haystack.utils.Secret, e.g. Secret.from_env_var('NAME') "
                "(a token given as Secret.from_token cannot be serialised with the pipeline).",
                parameter="api_key",
            )
        self.model = model
        self.top_k = top_k
        self.params = dict(params or {})
        self.api_key = api_key
        self.api_base = api_base
        self.timeout = timeout
        self.max_retries = max_retries
        self.fallbacks = list(fallbacks) if fallbacks is not None else None
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.meta_data_separator = meta_data_separator
        self.client = client
        self.async_client = async_client

    def to_dict(self) -> dict[str, Any]:
        """Serialise the component; the key only as its `Secret` (env var name, never a token).

        :raises ConfigurationError: if a `client` or `async_client` was given: a live
            client cannot be serialised (pass its settings as init parameters instead).
        """
        if self.client is not None or self.async_client is not None:
            raise ConfigurationError(
                "RerankitRanker with client= or async_client= cannot be serialised: a live "
                "client is not data. Pass timeout=, max_retries=, fallbacks= and "
                "api_base= instead to save the pipeline."
            )
        return default_to_dict(
            self,
            model=self.model,
            top_k=self.top_k,
            params=self.params,
            api_key=self.api_key.to_dict() if self.api_key is not None else None,
            api_base=self.api_base,
            timeout=self.timeout,
            max_retries=self.max_retries,
            fallbacks=self.fallbacks,
            meta_fields_to_embed=self.meta_fields_to_embed,
            meta_data_separator=self.meta_data_separator,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RerankitRanker":
        """Deserialise a component written by `to_dict`."""
        # Haystack's helper works in place: work on a copy, leave the caller's dict alone.
        data = {**data, "init_parameters": dict(data["init_parameters"])}
        deserialize_secrets_inplace(data["init_parameters"], keys=["api_key"])
        ranker: RerankitRanker = default_from_dict(cls, data)
        return ranker

    @component.output_types(documents=list[Document])
    def run(
        self, query: str, documents: list[Document], top_k: int | None = None
    ) -> dict[str, list[Document]]:
        """Rerank `documents` against `query`.

        :param query: The query to rank the documents against.
        :param documents: The documents to rank.
        :param top_k: Documents to return for this call; unset, the component's `top_k`.
        :returns: `{"documents": [...]}`, best first, each with `score` set.
        """
        if not documents:
            return {"documents": []}
        texts = self._texts(documents)
        options = self._call_options(top_k)
        if self.client is not None:
            response = self.client.rerank(self.model, query, texts, **options)
        elif self.async_client is not None:
            raise ConfigurationError(
                "RerankitRanker was given only async_client=: run it with run_async (an "
                "AsyncPipeline), or pass client=rerankit.Client(...) for run."
            )
        else:
            response = rerankit.rerank(self.model, query, texts, **options)
        return {"documents": self._ranked(documents, response)}

    @component.output_types(documents=list[Document])
    async def run_async(
        self, query: str, documents: list[Document], top_k: int | None = None
    ) -> dict[str, list[Document]]:
        """Async `run`, on rerankit's native async I/O (used by `AsyncPipeline`)."""
        if not documents:
            return {"documents": []}
        texts = self._texts(documents)
        options = self._call_options(top_k)
        if self.async_client is not None:
            response = await self.async_client.rerank(self.model, query, texts, **options)
        elif self.client is not None:
            # The caller chose this client's transport and settings: keep them, off-loop.
            response = await asyncio.to_thread(
                self.client.rerank, self.model, query, texts, **options
            )
        else:
            response = await rerankit.arerank(self.model, query, texts, **options)
        return {"documents": self._ranked(documents, response)}

    def _call_options(self, top_k: int | None) -> dict[str, Any]:
        """Keyword arguments of `rerank`: only what was set, so rerankit's defaults hold."""
        _check_whole("top_k", top_k, minimum=1, optional=True)
        options: dict[str, Any] = {
            **self.params,
            "top_n": top_k if top_k is not None else self.top_k,
            "return_documents": False,  # results are mapped back to the documents by index
        }
        if self.api_key is not None:
            key = self.api_key.resolve_value()
            if key is not None:  # a non-strict env var that is unset: the provider's rule
                options["api_key"] = key
        for name in ("api_base", "timeout", "max_retries", "fallbacks"):
            value = getattr(self, name)
            if value is not None:
                options[name] = value
        return options

    def _texts(self, documents: Sequence[Document]) -> list[str]:
        texts = []
        for i, doc in enumerate(documents):
            meta_values = [
                str(doc.meta[key])
                for key in self.meta_fields_to_embed
                if doc.meta.get(key) not in (None, "")
            ]
            text = self.meta_data_separator.join([*meta_values, doc.content or ""])
            if not text.strip():
                raise InvalidRequestError(
                    f"documents[{i}] (id {doc.id!r}) has no text to rank (no content"
                    f"{' and no meta_fields_to_embed values' if self.meta_fields_to_embed else ''})"
                    f": drop documents without text before ranking."
                )
            texts.append(text)
        return texts

    @staticmethod
    def _ranked(documents: Sequence[Document], response: rerankit.RerankResponse) -> list[Document]:
        score_kind = response.meta.score_kind if response.meta is not None else "unknown"
        return [
            dataclasses.replace(
                documents[result.index],
                score=result.relevance_score,
                meta={**documents[result.index].meta, SCORE_KIND_KEY: score_kind},
            )
            for result in response.results
        ]


def _check_whole(name: str, value: object, *, minimum: int, optional: bool) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidParameterError(
            f"{name} must be a whole number >= {minimum}"
            f"{' or None' if optional else ''}, got {value!r}.",
            parameter=name,
        )
