"""Runs as a terminal shows them: aligned tables and a few lines about each run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from orchestration.present.columns import REPORT_COLUMNS, Column, cells, shown
from orchestration.reports.results import ReportResult
from orchestration.reports.stored_runs import Row


def text_table(rows: Sequence[Row], columns: Sequence[Column]) -> str:
    """An aligned plain-text table, or ``(no rows)``."""
    if not rows:
        return "(no rows)"
    table = cells(rows, columns)
    widths = [
        max(len(column.heading), *(len(line[index]) for line in table))
        for index, column in enumerate(columns)
    ]

    def line(values: Sequence[str]) -> str:
        padded = (
            value.rjust(width) if column.right else value.ljust(width)
            for value, width, column in zip(values, widths, columns, strict=True)
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line([c.heading for c in columns]), rule, *map(line, table)])


REPORT_TITLES: Final = {"deal_win_loss": "Deal Win/Loss", "deal_aging": "Deal Aging / At-Risk"}
_FILTERS: Final = ("pipeline_id", "principal_type", "principal_id", "source", "stage_id")


def describe_parameters(header: Row) -> str:
    """What the run covered, in words, from its stored ``input_params``."""
    params: dict[str, Any] = header["input_params"] or {}
    if header["report_type"] == "deal_aging":
        text = f"as of {params.get('as_of')}, at risk after {params.get('threshold_days')} days"
        if params.get("cycle_threshold_days") is not None:
            text += f" in a stage or {params['cycle_threshold_days']} days since creation"
        if params.get("period_start") is not None:
            text += f", stage entered from {params['period_start']}"
    else:
        text = f"closed in [{params.get('period_start')}, {params.get('period_end')})"
    filters = [f"{name}={params[name]}" for name in _FILTERS if params.get(name) is not None]
    return text + (f"; filters: {', '.join(filters)}" if filters else "")


def result_text(result: ReportResult) -> str:
    """A run as a terminal shows it: one line about the run, then its fact rows."""
    header = result.header
    title = REPORT_TITLES.get(result.report_type, result.report_type)
    lines = [
        f"{title}: run {result.run_id} {header['status']}, tenant {header['tenant_id']},"
        f" {len(result.facts)} rows",
        describe_parameters(header),
    ]
    if header.get("error_message"):
        lines.append(f"error: {shown(header['error_message'])}")
    lines.append(text_table(result.facts, REPORT_COLUMNS[result.report_type]))
    return "\n".join(lines)
