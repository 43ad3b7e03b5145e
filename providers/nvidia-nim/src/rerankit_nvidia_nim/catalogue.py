"""Known NIM rerank models: the name in the URL path and the name in the JSON body.

The hosted API writes a model's version dots as underscores in the URL path
(`llama-3_2-nv-rerankqa-1b-v2`) and keeps the dotted id in the body
(`nvidia/llama-3.2-nv-rerankqa-1b-v2`). Models not listed here follow `fallback`:
only a `_` or `.` between two digits is converted, so a name with real underscores
(`my_model`) is never corrupted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rerankit.errors import InvalidModelError

__all__ = ["NimModel", "CATALOGUE", "lookup", "check_model_path"]

_VERSION_UNDERSCORE = re.compile(r"(?<=\d)_(?=\d)")
_VERSION_DOT = re.compile(r"(?<=\d)\.(?=\d)")
# A path segment: starts with a letter or digit (so never "." or ".."), then only
# characters that need no escaping. "%" is excluded, so encoded tricks are rejected too.
_SEGMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]*")


@dataclass(frozen=True, slots=True)
class NimModel:
    """A rerank model: `id` goes in the body, `path` after `/v1/retrieval/` in the URL."""

    id: str
    path: str
    aliases: tuple[str, ...] = ()


def _hosted(model_id: str) -> NimModel:
    return NimModel(model_id, f"{_VERSION_DOT.sub('_', model_id)}/reranking")


CATALOGUE: tuple[NimModel, ...] = (
    _hosted("nvidia/llama-3.2-nv-rerankqa-1b-v2"),
    _hosted("nvidia/llama-3.2-nv-rerankqa-1b-v1"),
    _hosted("nvidia/nv-rerankqa-mistral-4b-v3"),
    _hosted("nvidia/llama-nemotron-rerank-1b-v2"),
    _hosted("nvidia/llama-nemotron-rerank-vl-1b-v2"),
    # The oldest model lives at a path shared by no other model. `ai-rerank-qa-mistral-4b`
    # is the name NVIDIA's own client (langchain-nvidia-ai-endpoints, `_statics.py`)
    # accepts for it; by the fallback rule it would build `.../ai-rerank-qa-.../reranking`,
    # which 404s.
    NimModel(
        "nv-rerank-qa-mistral-4b:1",
        "nvidia/reranking",
        ("nvidia/rerank-qa-mistral-4b", "ai-rerank-qa-mistral-4b"),
    ),
)

_BY_NAME: dict[str, NimModel] = {}
for _model in CATALOGUE:
    for _name in (_model.id, _model.path.removesuffix("/reranking"), *_model.aliases):
        _BY_NAME[_name] = _model


def check_model_path(name: str) -> None:
    """Reject a model name that could leave its place in the URL (`..`, `/`, `%`, ...)."""
    segments = name.split("/")
    if len(segments) > 2 or not all(_SEGMENT.fullmatch(s) for s in segments):
        raise InvalidModelError(
            f"NIM model name {name!r} is not a safe model path: use '<org>/<model>' with "
            f"letters, digits, '.', '_', ':' and '-' only, e.g. "
            f"'nvidia/llama-3_2-nv-rerankqa-1b-v2'."
        )


def lookup(name: str) -> NimModel:
    """The catalogued model called `name` (id, path name or alias), else `fallback(name)`."""
    check_model_path(name)
    return _BY_NAME.get(name) or fallback(name)


def fallback(name: str) -> NimModel:
    """The documented rule for models not in the catalogue: convert only version marks."""
    return NimModel(_VERSION_UNDERSCORE.sub(".", name), f"{_VERSION_DOT.sub('_', name)}/reranking")
