"""Runs as markdown: what Dagster renders in materialisation metadata."""

from __future__ import annotations

from collections.abc import Sequence

from orchestration.present.columns import Column, cells
from orchestration.reports.stored_runs import Row


def markdown_table(rows: Sequence[Row], columns: Sequence[Column]) -> str:
    """A GitHub-flavoured markdown table (what Dagster renders in metadata)."""
    if not rows:
        return "_no rows_"

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(value.replace("|", "\\|") for value in values) + " |"

    rule = "|" + "|".join("---:" if c.right else "---" for c in columns) + "|"
    return "\n".join([line([c.heading for c in columns]), rule, *map(line, cells(rows, columns))])
