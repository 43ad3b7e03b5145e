"""A tiny renderer for exactly the Go-template subset the rerankit-proxy chart uses.

So the chart is checked where `helm` is not installed. Supported, with Go's and sprig's
meaning: `{{ .Values.a.b }}`, `.Release.Name`, `.Release.Namespace`, `.Chart.Name`,
`.Chart.Version`, `.Chart.AppVersion`; pipelines through `quote`, `default X`,
`nindent N`, `toYaml`, `sha256sum`; `not X`; `{{ if X }}`, `{{ else }}`, `{{ end }}`; and
whitespace trimming with `{{-` and `-}}`. Anything else raises `Unsupported`, so a chart
edit that goes beyond the subset fails the tests instead of rendering wrongly. Where helm
is available, tests/deploy/test_helm_real.py checks that helm renders the same documents.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_TAG = re.compile(r"\{\{(- )?\s*(.*?)\s*( -)?\}\}", re.S)
_SPACE = " \t\r\n"


class Unsupported(Exception):
    """The template uses something this renderer does not implement."""


@dataclass
class _If:
    condition: str
    then: list[Any] = field(default_factory=list)
    otherwise: list[Any] = field(default_factory=list)
    in_else: bool = False


def _parse(template: str) -> list[Any]:
    """Text (str) and actions (`("expr", text)` or `_If`), trimming as Go does."""
    items: list[Any] = []
    position, trim_next = 0, False
    for match in _TAG.finditer(template):
        text = template[position : match.start()]
        if trim_next:
            text = text.lstrip(_SPACE)
        if match.group(1):
            text = text.rstrip(_SPACE)
        items.append(text)
        items.append(("action", match.group(2)))
        position, trim_next = match.end(), bool(match.group(3))
    tail = template[position:]
    items.append(tail.lstrip(_SPACE) if trim_next else tail)
    root: list[Any] = []
    stack: list[_If] = []

    def target() -> list[Any]:
        if not stack:
            return root
        top = stack[-1]
        return top.otherwise if top.in_else else top.then

    for item in items:
        if isinstance(item, str):
            target().append(item)
            continue
        action = item[1]
        if action.startswith("/*"):
            continue
        if action.startswith("if "):
            node = _If(action[3:].strip())
            target().append(node)
            stack.append(node)
        elif action == "else":
            stack[-1].in_else = True
        elif action == "end":
            stack.pop()
        elif re.match(r"(range|with|define|template|include|block|else if)\b", action):
            raise Unsupported(action)
        else:
            target().append(("expr", action))
    if stack:
        raise Unsupported("an if without end")
    return root


def _text(value: Any) -> str:
    """A value as Go's template printer writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if value is None:
        raise Unsupported("printing a missing value")
    return str(value)


def _truthy(value: Any) -> bool:
    return bool(value)  # Go's truth: false, 0, nil and empty are false


def _to_yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=True, default_flow_style=False).rstrip("\n")


def _indent(spaces: int, text: str) -> str:
    pad = " " * spaces
    return pad + text.replace("\n", "\n" + pad)


class Renderer:
    """Renders one chart's templates with its values (and overrides)."""

    def __init__(self, chart: Path, values: dict[str, Any] | None = None, **release: str):
        meta = yaml.safe_load((chart / "Chart.yaml").read_text())
        merged = yaml.safe_load((chart / "values.yaml").read_text())
        _merge(merged, values or {})
        self.chart = chart
        self.context = {
            "Values": merged,
            "Release": {
                "Name": release.get("name", "release"),
                "Namespace": release.get("namespace", "default"),
            },
            "Chart": {
                "Name": meta["name"],
                "Version": meta["version"],
                "AppVersion": meta["appVersion"],
            },
        }

    def render(self, template: str) -> str:
        return self._run(_parse(template))

    def render_all(self) -> dict[str, str]:
        """Template file name -> rendered text, like `helm template` (partials skipped)."""
        out = {}
        for path in sorted((self.chart / "templates").iterdir()):
            if path.name.startswith("_"):
                continue
            out[path.name] = self.render(path.read_text())
        return out

    def _run(self, nodes: list[Any]) -> str:
        parts = []
        for node in nodes:
            if isinstance(node, str):
                parts.append(node)
            elif isinstance(node, _If):
                branch = node.then if _truthy(self._pipeline(node.condition)) else node.otherwise
                parts.append(self._run(branch))
            else:
                parts.append(_text(self._pipeline(node[1])))
        return "".join(parts)

    def _pipeline(self, text: str) -> Any:
        commands = [c.strip() for c in text.split("|")]
        value = self._command(commands[0], None, first=True)
        for command in commands[1:]:
            value = self._command(command, value, first=False)
        return value

    def _command(self, command: str, piped: Any, *, first: bool) -> Any:
        words = shlex.split(command, posix=False)
        if first and len(words) == 1:
            return self._argument(words[0])
        name, args = words[0], [self._argument(w) for w in words[1:]]
        if not first:
            args.append(piped)
        if name == "quote" and len(args) == 1:
            return json.dumps(_text(args[0]))
        if name == "default" and len(args) == 2:
            return args[1] if _truthy(args[1]) else args[0]
        if name == "nindent" and len(args) == 2:
            return "\n" + _indent(int(args[0]), _text(args[1]))
        if name == "toYaml" and len(args) == 1:
            return _to_yaml(args[0])
        if name == "sha256sum" and len(args) == 1:
            return hashlib.sha256(_text(args[0]).encode()).hexdigest()
        if name == "not" and len(args) == 1:
            return not _truthy(args[0])
        raise Unsupported(command)

    def _argument(self, word: str) -> Any:
        if word.startswith('"') and word.endswith('"'):
            return json.loads(word)
        if re.fullmatch(r"[0-9]+", word):
            return int(word)
        if not word.startswith("."):
            raise Unsupported(word)
        value: Any = self.context
        for part in word[1:].split("."):
            if not isinstance(value, dict):
                raise Unsupported(f"{word}: not a mapping at {part}")
            value = value.get(part)
        return value


def _merge(base: dict[str, Any], override: dict[str, Any]) -> None:
    """Helm's value merge: mappings merge key by key, anything else replaces."""
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value


def documents(rendered: dict[str, str]) -> list[dict[str, Any]]:
    """Every YAML document of the rendered manifests (NOTES.txt and empty ones left out)."""
    docs = []
    for name, text in rendered.items():
        if not name.endswith((".yaml", ".yml")):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                docs.append(doc)
    return docs
