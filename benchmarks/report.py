"""Results, tables and the generated section of docs/benchmarks.md."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DOCS_BEGIN = "<!-- BEGIN GENERATED: benchmarks/run.py --write-docs -->"
DOCS_END = "<!-- END GENERATED -->"


@dataclass
class Result:
    """One scenario's outcome: a table for people, `data` for machines."""

    scenario: str
    title: str
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The JSON form (everything, including the table)."""
        return asdict(self)


def cell(value: Any) -> str:
    """A table cell: floats rounded to a readable precision, None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    return str(value)


def markdown(result: Result) -> str:
    """The scenario as a markdown section (a table, its notes, or why it was skipped)."""
    lines = [f"### {result.title}", ""]
    if result.skipped:
        lines.append(f"Skipped: {result.skipped}")
        return "\n".join(lines) + "\n"
    lines.append("| " + " | ".join(result.columns) + " |")
    lines.append("|" + "|".join("---" for _ in result.columns) + "|")
    lines.extend("| " + " | ".join(cell(v) for v in row) + " |" for row in result.rows)
    if result.notes:
        lines.append("")
        lines.extend(f"- {note}" for note in result.notes)
    return "\n".join(lines) + "\n"


def targets_markdown(targets: list[dict[str, Any]]) -> str:
    """The targets table: figure, target, measured, met."""
    lines = ["### Targets", "", "| figure | target | measured | met |", "|---|---|---|---|"]
    for t in targets:
        met = {True: "yes", False: "**no**", None: "not measured"}[t["met"]]
        lines.append(f"| {t['figure']} | {t['target']} | {cell(t['measured'])} | {met} |")
    return "\n".join(lines) + "\n"


def write_docs(path: Path, section: str) -> None:
    """Replace the generated section of `path` (between the markers) with `section`."""
    text = path.read_text()
    pattern = re.compile(re.escape(DOCS_BEGIN) + ".*?" + re.escape(DOCS_END), re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{path} has no generated section ({DOCS_BEGIN} ... {DOCS_END})")
    path.write_text(pattern.sub(lambda _: f"{DOCS_BEGIN}\n{section}\n{DOCS_END}", text))
