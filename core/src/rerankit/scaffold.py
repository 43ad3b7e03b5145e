"""`rerankit new-provider NAME`: write a complete, installable provider plugin package.

For `NAME` = `acme` it writes `rerankit-acme/` holding a hatchling `pyproject.toml` with the
`rerankit` entry point, `src/rerankit_acme/` (the hookimpl in `__init__.py`, a working
Cohere-style `HttpProvider` in `provider.py`), `tests/test_contract.py` running
`rerankit.testing.ProviderContract`, and a README. The templates live beside this module
in `_scaffold/` and are the code docs/writing-a-provider.md shows (a test keeps them equal).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from string import Template

from .errors import ConfigurationError, InvalidRequestError

__all__ = [
    "NAME_PATTERN",
    "ScaffoldNames",
    "installed_prefixes",
    "scaffold_files",
    "write_scaffold",
]

#: What a provider prefix may be; the scaffold takes the same.
NAME_PATTERN = re.compile(r"[a-z0-9_]+")

#: Generated path (relative to the package folder) -> template file in `_scaffold/`.
_FILES = {
    "pyproject.toml": "pyproject.toml.tmpl",
    "LICENSE": "LICENSE.tmpl",
    "README.md": "README.md.tmpl",
    "src/{package}/__init__.py": "__init__.py.tmpl",
    "src/{package}/provider.py": "provider.py.tmpl",
    "src/{package}/py.typed": None,
    "tests/test_contract.py": "test_contract.py.tmpl",
}


@dataclass(frozen=True, slots=True)
class ScaffoldNames:
    """Every name the scaffold derives from a prefix, e.g. `acme`."""

    name: str  #: the prefix: `acme`
    distribution: str  #: `rerankit-acme`
    package: str  #: `rerankit_acme`
    class_name: str  #: `AcmeProvider`
    title: str  #: `Acme`, for messages
    key_env: str  #: `ACME_API_KEY`
    base_env: str  #: `ACME_API_BASE`

    @classmethod
    def for_prefix(cls, name: str) -> ScaffoldNames:
        """The names for prefix `name`; an `InvalidRequestError` says what a prefix may be."""
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name) or name.strip("_") == "":
            raise InvalidRequestError(
                f"Provider name {name!r} is not a valid prefix: use lower-case letters, "
                f"digits and '_' (e.g. 'acme' or 'acme_cloud'), with at least one letter "
                f"or digit."
            )
        words = [w for w in name.split("_") if w]
        title = " ".join(w.capitalize() for w in words)
        camel = "".join(w.capitalize() for w in words)
        # Class and variable names may not start with a digit.
        if camel[0].isdigit():
            camel = "Rerank" + camel
        env = name.upper().strip("_")
        if env[0].isdigit():
            env = "RERANK_" + env
        return cls(
            name=name,
            distribution="rerankit-" + name.replace("_", "-").strip("-"),
            package="rerankit_" + name,
            class_name=camel + "Provider",
            title=title,
            key_env=f"{env}_API_KEY",
            base_env=f"{env}_API_BASE",
        )


def scaffold_files(name: str) -> dict[str, str]:
    """The plugin package for prefix `name`: relative path -> file content."""
    names = ScaffoldNames.for_prefix(name)
    values = {
        "name": names.name,
        "distribution": names.distribution,
        "package": names.package,
        "class_name": names.class_name,
        "title": names.title,
        "key_env": names.key_env,
        "base_env": names.base_env,
    }
    templates = resources.files("rerankit").joinpath("_scaffold")
    files: dict[str, str] = {}
    for path, template in _FILES.items():
        text = "" if template is None else templates.joinpath(template).read_text("utf-8")
        files[path.format(package=names.package)] = Template(text).substitute(values)
    return files


def installed_prefixes() -> dict[str, str]:
    """Prefix -> the plugin (and distribution) registering it, in this environment.

    Empty when the installed plugins cannot be loaded: their own error says why, on use.
    """
    from .registry import default_registry

    try:
        entries = default_registry().entries()
    except ConfigurationError:
        return {}
    return {entry.prefix: entry.source for entry in entries}


def write_scaffold(name: str, output: Path | str | None = None, *, force: bool = False) -> Path:
    """Write the plugin package for prefix `name` into `output` (default: the current
    directory) as a new folder named after the distribution; returns that folder.

    Refuses to touch an existing folder, and (unless `force`) to scaffold a prefix an
    installed plugin already registers: installing both would make every lookup of the
    prefix a `DuplicateProviderError` (`ConfigurationError`).
    """
    names = ScaffoldNames.for_prefix(name)
    if not force:
        taken = installed_prefixes().get(name)
        if taken is not None:
            raise ConfigurationError(
                f"The prefix {name!r} is already registered by the installed {taken}; a "
                f"second plugin for it would make every {name}/... lookup a "
                f"DuplicateProviderError. Choose another name, or pass --force (force=True) "
                f"to scaffold it anyway (e.g. to replace that plugin). Nothing was written."
            )
    parent = Path.cwd() if output is None else Path(output)
    root = parent / names.distribution
    if root.exists():
        raise ConfigurationError(
            f"{root} already exists; remove it or choose another --output directory. "
            f"Nothing was written."
        )
    files = scaffold_files(name)
    root.mkdir(parents=True)
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root
