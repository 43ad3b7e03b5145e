"""`RerankitRerank`: a LlamaIndex node postprocessor backed by any rerankit model."""

from __future__ import annotations

import asyncio
from typing import Any

from llama_index.core.bridge.pydantic import ConfigDict, Field, SecretStr, field_validator
from llama_index.core.callbacks import CBEventType, EventPayload
from llama_index.core.instrumentation import get_dispatcher  # type: ignore[attr-defined]
from llama_index.core.instrumentation.events.rerank import ReRankEndEvent, ReRankStartEvent
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

import rerankit
from rerankit.errors import ConfigurationError, InvalidRequestError
from rerankit.provider import CALL_ARGUMENTS

__all__ = ["RerankitRerank", "SCORE_KIND_KEY"]

# get_dispatcher is re-exported by llama-index-core without __all__ (hence the ignore).
dispatcher = get_dispatcher(__name__)

#: The metadata key of each returned node that says what its score means.
SCORE_KIND_KEY = "score_kind"


class RerankitRerank(BaseNodePostprocessor):
    """Rerank LlamaIndex nodes with any rerankit model, best first.

    ```py
    reranker = RerankitRerank(model="cohere/rerank-v3.5", top_n=2)
    query_engine = index.as_query_engine(similarity_top_k=10, node_postprocessors=[reranker])
    ```

    Returns `NodeWithScore`s whose `score` is the model's relevance score. Each node is a
    copy of the input with `metadata["score_kind"]` (`"logit"`, `"probability"`, ...)
    added and kept out of the LLM's and the embedding's view of the node; the stored
    nodes are not modified. Errors are rerankit's typed errors, raised as they are.
    """

    # A misspelt option (top_k=...) is an error, not silently ignored; a ValidationError
    # does not quote the values it rejects (a key among them).
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    model: str = Field(description="A rerankit model string, prefix/model-name.")
    top_n: int | None = Field(
        default=2, ge=1, description="Nodes to return, best first; None: every node."
    )
    params: dict[str, Any] = Field(
        default_factory=dict, description="Provider parameters, validated by rerankit."
    )
    api_key: SecretStr | None = Field(
        default=None,
        exclude=True,  # never in to_dict / to_json
        description="The provider's key; unset, the provider's environment variable.",
    )
    api_base: str | None = Field(default=None, description="The provider's base URL.")
    timeout: float | None = Field(
        default=None, gt=0, description="Seconds for the whole call; unset: rerankit's."
    )
    max_retries: int | None = Field(
        default=None, ge=0, description="Retries of a failed request; unset: rerankit's."
    )
    fallbacks: list[str] | None = Field(
        default=None, description="Models tried in order when `model` fails."
    )
    metadata_mode: MetadataMode = Field(
        default=MetadataMode.NONE,
        description="What is reranked: the node's text (NONE), or its text with the "
        "metadata its template shows that reader (EMBED, LLM, ALL).",
    )
    client: rerankit.Client | None = Field(
        default=None, exclude=True, description="An existing sync rerankit.Client."
    )
    async_client: rerankit.AsyncClient | None = Field(
        default=None, exclude=True, description="An existing rerankit.AsyncClient."
    )

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

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this component under."""
        return "RerankitRerank"

    def _postprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        query = self._query(query_bundle)
        if not nodes:
            return []
        texts = self._texts(nodes)
        dispatcher.event(self._start_event(query_bundle, nodes))
        with self.callback_manager.event(
            CBEventType.RERANKING, payload=self._payload(nodes, query)
        ) as event:
            if self.client is not None:
                response = self.client.rerank(self.model, query, texts, **self._call_options())
            elif self.async_client is not None:
                raise ConfigurationError(
                    "RerankitRerank was given only async_client=: use the async path "
                    "(apostprocess_nodes, aquery), or pass client=rerankit.Client(...)."
                )
            else:
                response = rerankit.rerank(self.model, query, texts, **self._call_options())
            ranked = self._ranked(nodes, response)
            event.on_end(payload={EventPayload.NODES: ranked})
        dispatcher.event(ReRankEndEvent(nodes=ranked))
        return ranked

    async def _apostprocess_nodes(
        self,
        nodes: list[NodeWithScore],
        query_bundle: QueryBundle | None = None,
    ) -> list[NodeWithScore]:
        query = self._query(query_bundle)
        if not nodes:
            return []
        texts = self._texts(nodes)
        options = self._call_options()
        dispatcher.event(self._start_event(query_bundle, nodes))
        with self.callback_manager.event(
            CBEventType.RERANKING, payload=self._payload(nodes, query)
        ) as event:
            if self.async_client is not None:
                response = await self.async_client.rerank(self.model, query, texts, **options)
            elif self.client is not None:
                # The caller chose this client's transport and settings: keep them, off-loop.
                response = await asyncio.to_thread(
                    self.client.rerank, self.model, query, texts, **options
                )
            else:
                response = await rerankit.arerank(self.model, query, texts, **options)
            ranked = self._ranked(nodes, response)
            event.on_end(payload={EventPayload.NODES: ranked})
        dispatcher.event(ReRankEndEvent(nodes=ranked))
        return ranked

    @staticmethod
    def _query(query_bundle: QueryBundle | None) -> str:
        if query_bundle is None:
            raise InvalidRequestError(
                "RerankitRerank needs a query: pass query_str= or query_bundle= to "
                "postprocess_nodes (a query engine passes it for you)."
            )
        return query_bundle.query_str

    def _start_event(
        self, query_bundle: QueryBundle | None, nodes: list[NodeWithScore]
    ) -> ReRankStartEvent:
        top_n = self.top_n if self.top_n is not None else len(nodes)
        return ReRankStartEvent(query=query_bundle, nodes=nodes, top_n=top_n, model_name=self.model)

    def _payload(self, nodes: list[NodeWithScore], query: str) -> dict[str, Any]:
        return {
            EventPayload.NODES: nodes,
            EventPayload.MODEL_NAME: self.model,
            EventPayload.QUERY_STR: query,
            EventPayload.TOP_K: self.top_n,
        }

    def _call_options(self) -> dict[str, Any]:
        """Keyword arguments of `rerank`: only what was set, so rerankit's defaults hold."""
        options: dict[str, Any] = {
            **self.params,
            "top_n": self.top_n,
            "return_documents": False,  # results are mapped back to the nodes by index
        }
        if self.api_key is not None:
            options["api_key"] = self.api_key.get_secret_value()
        for name in ("api_base", "timeout", "max_retries", "fallbacks"):
            value = getattr(self, name)
            if value is not None:
                options[name] = value
        return options

    def _texts(self, nodes: list[NodeWithScore]) -> list[str]:
        texts = []
        for i, node in enumerate(nodes):
            text = node.node.get_content(metadata_mode=self.metadata_mode)
            if not text.strip():
                raise InvalidRequestError(
                    f"nodes[{i}] (id {node.node.node_id!r}) has no text to rerank: drop "
                    f"nodes without text before reranking."
                )
            texts.append(text)
        return texts

    @staticmethod
    def _ranked(
        nodes: list[NodeWithScore], response: rerankit.RerankResponse
    ) -> list[NodeWithScore]:
        score_kind = response.meta.score_kind if response.meta is not None else "unknown"
        ranked = []
        for result in response.results:
            node = nodes[result.index].node
            copy = node.model_copy(
                update={
                    "metadata": {**node.metadata, SCORE_KIND_KEY: score_kind},
                    # Keep the note out of what the LLM and the embedder see.
                    "excluded_llm_metadata_keys": _with(
                        node.excluded_llm_metadata_keys, SCORE_KIND_KEY
                    ),
                    "excluded_embed_metadata_keys": _with(
                        node.excluded_embed_metadata_keys, SCORE_KIND_KEY
                    ),
                }
            )
            ranked.append(NodeWithScore(node=copy, score=result.relevance_score))
        return ranked


def _with(keys: list[str], key: str) -> list[str]:
    return keys if key in keys else [*keys, key]
