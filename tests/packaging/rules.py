"""The publishing rules every distribution of this repository follows.

One function, `problems(folder)`, so that the first-party distributions and the
scaffold's output (`rerankit new-provider`) are held to the same rules. The rules are
written out in docs/writing-a-provider.md ("Publish"); a new package under providers/ or
plugins/ is checked automatically.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
LICENSE_TEXT = (ROOT / "LICENSE").read_text()

#: Classifiers every distribution carries (it is typed and Python 3 only).
REQUIRED_CLASSIFIERS = ("Typing :: Typed", "Programming Language :: Python :: 3 :: Only")
#: Project URLs every distribution names.
REQUIRED_URLS = ("Homepage", "Source", "Changelog")
#: A README shorter than this does not read as an index page.
MIN_README_LINES = 10
RELATIVE_LINK = re.compile(r"\]\((?!https?://|#|mailto:)([^)]+)\)")


def first_party() -> list[Path]:
    """Every distribution folder of the repository: core, providers/*, plugins/*."""
    folders = [ROOT / "core"]
    for group in ("providers", "plugins"):
        folders += sorted(p.parent for p in (ROOT / group).glob("*/pyproject.toml"))
    return folders


def project(folder: Path) -> dict[str, Any]:
    """The [project] table of `folder`'s pyproject.toml."""
    table: dict[str, Any] = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    return table


def core_version() -> str:
    """rerankit's version, from its one source (`__version__`, read by hatch)."""
    text = (ROOT / "core" / "src" / "rerankit" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.M)
    assert match is not None
    return match.group(1)


def problems(folder: Path, *, first_party: bool = True) -> list[str]:
    """What keeps the distribution in `folder` from being publishable, as sentences."""
    meta = project(folder)
    config = tomllib.loads((folder / "pyproject.toml").read_text())
    name = meta["name"]
    found: list[str] = []

    def need(ok: object, what: str) -> None:
        if not ok:
            found.append(f"{name}: {what}")

    # Licence: an SPDX expression plus the file itself, included in the wheel and sdist.
    need(meta.get("license") == "Apache-2.0", 'set license = "Apache-2.0"')
    need("LICENSE" in meta.get("license-files", []), 'set license-files = ["LICENSE"]')
    license_file = folder / "LICENSE"
    need(license_file.is_file(), "add a LICENSE file beside pyproject.toml")
    if first_party and license_file.is_file():
        need(license_file.read_text() == LICENSE_TEXT, "LICENSE must be the repository's text")
    need(meta.get("requires-python"), "set requires-python")
    need(meta.get("description"), "set a one-line description")
    classifiers = meta.get("classifiers", [])
    for classifier in REQUIRED_CLASSIFIERS:
        need(classifier in classifiers, f"add the classifier {classifier!r}")
    need(
        any(c.startswith("Development Status ::") for c in classifiers),
        "add a 'Development Status :: ...' classifier",
    )
    urls = meta.get("urls", {})
    for url in REQUIRED_URLS:
        need(url in urls, f"add {url} to [project.urls]")

    # README: the index page on the package index, so no links relative to the repository.
    need(meta.get("readme") == "README.md", 'set readme = "README.md"')
    readme = folder / "README.md"
    if readme.is_file():
        text = readme.read_text()
        need(len(text.splitlines()) >= MIN_README_LINES, "write a README of 10 lines or more")
        need(
            re.search(rf"pip (un)?install {re.escape(name)}\b", text),
            f"say `pip install {name}` in the README",
        )
        for link in RELATIVE_LINK.findall(text):
            need(False, f"README link {link!r} is relative: it breaks on the package index")
    else:
        need(False, "add README.md")

    # Typed: every import package of the wheel ships py.typed.
    wheel = config.get("tool", {}).get("hatch", {}).get("build", {}).get("targets", {})
    packages = wheel.get("wheel", {}).get("packages", [])
    need(packages, "list the import package in [tool.hatch.build.targets.wheel] packages")
    for package in packages:
        need((folder / package / "py.typed").is_file(), f"add {package}/py.typed")

    # Versions: rerankit itself is bounded both ways (plugins use its API, which may change
    # at a minor version before 1.0); first-party distributions move in lockstep.
    rerankit_deps = [
        d for d in meta.get("dependencies", []) if re.match(r"rerankit\s*[<>=!~\[]", d)
    ]
    if name != "rerankit":
        need(rerankit_deps, "depend on rerankit")
        for dep in rerankit_deps:
            need(">=" in dep and "<" in dep.replace("<=", ""), f"bound {dep!r} both ways")
    if first_party:
        version = core_version() if name == "rerankit" else meta.get("version")
        need(version == core_version(), f"version must be rerankit's ({core_version()})")
        for dep in rerankit_deps:
            need(f">={core_version()}" in dep, f"{dep!r} must require rerankit>={core_version()}")
    return found
