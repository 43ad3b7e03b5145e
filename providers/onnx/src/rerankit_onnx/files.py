"""Where a model's files are: a local directory, or a Hugging Face Hub repository.

The part of the model string after `onnx/` is either

- a local directory, when it starts with `/`, `./`, `../` or `~` (`onnx//srv/models/x`,
  `onnx/./models/x`, `onnx/~/models/x`): no network at all; or
- a Hub repository id, optionally pinned, `owner/name[@revision]`: downloaded once through
  `huggingface_hub` into its usual cache (honouring `HF_HOME`, `HF_HUB_CACHE`,
  `HF_HUB_OFFLINE`, `HF_TOKEN`), and only the files a cross-encoder needs.

In the directory the graph is `model.onnx` or `onnx/model.onnx` (Optimum's and
transformers.js' layouts), unless `onnx_file=` names another (`onnx/model_quantized.onnx`;
a bare file name is also looked for under `onnx/`). Every miss is an `InvalidModelError`
saying where it looked and how to get the files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from rerankit.errors import InvalidModelError, InvalidParameterError, ProviderConnectionError

__all__ = ["DEFAULT_ONNX_FILES", "ModelFiles", "ModelSource", "check_onnx_file", "parse_source"]

#: Where the graph is looked for when `onnx_file=` is not given, in this order.
DEFAULT_ONNX_FILES = ("model.onnx", "onnx/model.onnx")
#: The small files a cross-encoder needs besides its graph.
SIDE_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json")

_LOCAL_STARTS = ("/", "./", "../", "~")
_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}(/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?")
_REVISION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}")
_MAX_ONNX_FILE = 200


@dataclass(frozen=True, slots=True)
class ModelSource:
    """A parsed model name: a local directory or a Hub repository (with its revision)."""

    name: str
    directory: Path | None = None
    repo_id: str | None = None
    revision: str | None = None


@dataclass(frozen=True, slots=True)
class ModelFiles:
    """The files of one model on disk."""

    directory: Path
    onnx: Path
    tokenizer: Path


def parse_source(name: str) -> ModelSource:
    """Read the model name after `onnx/`; a malformed one is an `InvalidModelError`."""
    if name.startswith(_LOCAL_STARTS):
        # abspath, not resolve(): string work only, no file-system calls on every call.
        return ModelSource(name, directory=Path(os.path.abspath(os.path.expanduser(name))))
    repo_id, _, revision = name.partition("@")
    if not _REPO_ID.fullmatch(repo_id) or ".." in repo_id or "--" in repo_id:
        raise InvalidModelError(
            f"{name!r} is neither a local directory nor a Hugging Face repository id. "
            "Write a directory as onnx//absolute/path or onnx/./relative/path, "
            "a repository as onnx/owner/name (optionally @revision)."
        )
    if revision and (not _REVISION.fullmatch(revision) or ".." in revision):
        raise InvalidModelError(f"{revision!r} in {name!r} is not a usable revision.")
    return ModelSource(name, repo_id=repo_id, revision=revision or None)


def check_onnx_file(value: str) -> str:
    """`onnx_file=`: a relative path to a `.onnx` file inside the model directory."""
    path = PurePosixPath(value)
    if (
        len(value) > _MAX_ONNX_FILE
        or path.is_absolute()
        or ".." in path.parts
        or "\\" in value
        or path.suffix != ".onnx"
    ):
        raise InvalidParameterError(
            f"onnx_file must be a relative path to a .onnx file inside the model directory "
            f"(at most {_MAX_ONNX_FILE} characters, no '..'), e.g. "
            f"'onnx/model_quantized.onnx'; got {value!r}.",
            parameter="onnx_file",
        )
    return value


def candidates(onnx_file: str | None) -> tuple[str, ...]:
    """The relative paths where the graph may be, in the order they are tried."""
    if onnx_file is None:
        return DEFAULT_ONNX_FILES
    if "/" not in onnx_file:
        return (onnx_file, f"onnx/{onnx_file}")
    return (onnx_file,)


def locate(source: ModelSource, onnx_file: str | None) -> ModelFiles:
    """The model's files on disk, downloading a Hub model's first; typed errors otherwise."""
    wanted = candidates(onnx_file)
    directory = source.directory
    if directory is None:
        directory = _download(source, wanted)
    if not directory.is_dir():
        raise InvalidModelError(
            f"No model directory at {directory} (from onnx/{source.name}). Put an ONNX "
            "cross-encoder there (model.onnx or onnx/model.onnx, tokenizer.json, config.json), "
            "e.g. `optimum-cli export onnx --task text-classification --model <repo id> "
            f"{directory}`, or name a Hugging Face repository: onnx/owner/name."
        )
    graph = next((directory / c for c in wanted if (directory / c).is_file()), None)
    if graph is None:
        found = sorted(str(p.relative_to(directory)) for p in directory.rglob("*.onnx"))[:20]
        hint = f"It has: {', '.join(found)}; pick one with onnx_file=." if found else ""
        raise InvalidModelError(
            f"No ONNX graph in {directory}: looked for {', '.join(wanted)}. {hint}".rstrip()
        )
    tokenizer = directory / "tokenizer.json"
    if not tokenizer.is_file():
        raise InvalidModelError(
            f"No tokenizer.json in {directory}: rerankit-onnx needs the model's fast "
            "tokenizer file (save it with `AutoTokenizer.from_pretrained(...).save_pretrained"
            "(dir)`, or export the model with optimum-cli, which writes it)."
        )
    return ModelFiles(directory, graph, tokenizer)


def _download(source: ModelSource, wanted: tuple[str, ...]) -> Path:
    """Fetch (or find in the cache) the files of a Hub model; its snapshot directory."""
    assert source.repo_id is not None
    try:
        from huggingface_hub import constants, snapshot_download
        from huggingface_hub.errors import (
            GatedRepoError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError:  # pragma: no cover - a dependency of rerankit-onnx
        raise InvalidModelError(
            f"onnx/{source.name} is a Hugging Face repository id; downloading it needs "
            "huggingface_hub: pip install huggingface_hub (or use a local directory)."
        ) from None
    fetch = (
        f"`hf download {source.repo_id} {' '.join([*SIDE_FILES, wanted[0]])}"
        + (f" --revision {source.revision}" if source.revision else "")
        + "` on a machine with network"
    )
    try:
        # One candidate graph at a time: a repository may carry several large ones.
        for graph in wanted:
            # `_data`: the external-data file a large model keeps its weights in.
            patterns = [*SIDE_FILES, graph, f"{graph}_data"]
            found = Path(
                snapshot_download(source.repo_id, revision=source.revision, allow_patterns=patterns)
            )
            if (found / graph).is_file():
                break
        return found
    except (RepositoryNotFoundError, RevisionNotFoundError, GatedRepoError) as exc:
        raise InvalidModelError(
            f"Hugging Face has no accessible repository {source.repo_id!r}"
            + (f" at revision {source.revision!r}" if source.revision else "")
            + f" ({type(exc).__name__}). Check the id, or set HF_TOKEN for a gated one."
        ) from None
    except LocalEntryNotFoundError:
        offline = " (HF_HUB_OFFLINE is set)" if constants.HF_HUB_OFFLINE else ""
        raise InvalidModelError(
            f"onnx/{source.name} is not in the Hugging Face cache at {constants.HF_HUB_CACHE} "
            f"and could not be downloaded{offline}. Fetch it with {fetch}, into the cache "
            "HF_HOME points at, or use a local directory: onnx//path/to/model."
        ) from None
    except OSError as exc:
        raise ProviderConnectionError(
            f"Could not download onnx/{source.name} from Hugging Face "
            f"({type(exc).__name__}: {exc}).",
            provider="ONNX Runtime",
            model=f"onnx/{source.name}",
        ) from None
