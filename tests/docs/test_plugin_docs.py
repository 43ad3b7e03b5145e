"""The plugin author's docs stay true: the tutorial is the scaffold, every hook is documented."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from rerankit import hookspecs
from rerankit.hookspecs import PROJECT_NAME
from rerankit.scaffold import scaffold_files

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "writing-a-provider.md"
PLUGINS = ROOT / "docs" / "plugins.md"

#: `<!-- scaffold: PATH -->` then a fenced block holding that generated file.
SCAFFOLD_BLOCK = re.compile(r"<!-- scaffold: (\S+) -->\n```[a-z]*\n(.*?)^```", re.S | re.M)
HOOK_HEADING = re.compile(r"^### `(\w+)\(([^)]*)\)`", re.M)


def test_tutorial_shows_every_scaffold_source_file_verbatim():
    shown = dict(SCAFFOLD_BLOCK.findall(TUTORIAL.read_text()))
    generated = scaffold_files("acme")
    code = {p for p in generated if p.endswith((".py", ".toml"))}
    assert set(shown) == code, "the tutorial must show exactly the scaffold's code files"
    for path, text in shown.items():
        assert text == generated[path], (
            f"docs/writing-a-provider.md shows an outdated {path}; paste the output of "
            f"`rerankit new-provider acme` (rerankit-acme/{path})"
        )


def hookspecs_by_name() -> dict[str, list[str]]:
    specs = {}
    for name, value in vars(hookspecs).items():
        if inspect.isfunction(value) and hasattr(value, f"{PROJECT_NAME}_spec"):
            specs[name] = list(inspect.signature(value).parameters)
    return specs


def documented_hooks() -> dict[str, list[str]]:
    text = PLUGINS.read_text()
    reference = text.split("## Hook reference", 1)[1].split("\n## ", 1)[0]
    return {
        name: [a.strip() for a in args.split(",") if a.strip()]
        for name, args in HOOK_HEADING.findall(reference)
    }


def test_there_are_hooks_to_check():
    assert "register_providers" in hookspecs_by_name()


@pytest.mark.parametrize("hook", sorted(hookspecs_by_name()))
def test_every_hook_is_documented_with_its_arguments(hook):
    documented = documented_hooks()
    assert hook in documented, f"hook {hook} is missing from docs/plugins.md's Hook reference"
    assert documented[hook] == hookspecs_by_name()[hook], (
        f"docs/plugins.md documents {hook}({', '.join(documented[hook])}); "
        f"the spec is {hook}({', '.join(hookspecs_by_name()[hook])})"
    )


def test_no_documented_hook_is_missing_from_the_spec():
    assert set(documented_hooks()) <= set(hookspecs_by_name())


def test_every_contract_test_is_listed_in_the_tutorial():
    from rerankit.testing import ProviderContract

    tests = {name for name in dir(ProviderContract) if name.startswith("test_")}
    listed = set(re.findall(r"^\| `(test_\w+)", TUTORIAL.read_text(), re.M))
    assert listed == tests


def test_testing_public_api_is_pinned():
    import rerankit.testing

    assert rerankit.testing.__all__ == [
        "ProviderContract",
        "FakeUpstream",
        "CannedResponse",
        "registered_plugin",
        "HookRecorder",
        "HookEvent",
    ]
    for name in rerankit.testing.__all__:
        assert getattr(rerankit.testing, name).__doc__
