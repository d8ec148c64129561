"""Report runs as text: aligned tables for a terminal, markdown for Dagster, JSON values."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from orchestration.report_runner import ReportResult
from orchestration.run_records import Row

NONE_SHOWN: Final = "-"


@dataclass(frozen=True)
class Column:
    heading: str
    value: Callable[[Row], Any]
    right: bool = True  # numbers align right


def _field(name: str) -> Callable[[Row], Any]:
    return lambda row: row.get(name)


def _named(name_key: str, id_key: str, missing: str) -> Callable[[Row], Any]:
    def value(row: Row) -> Any:
        if row.get(name_key) is not None:
            return row[name_key]
        return row[id_key] if row.get(id_key) is not None else missing

    return value


def _percent(name: str) -> Callable[[Row], Any]:
    def value(row: Row) -> Any:
        fraction = row.get(name)
        return None if fraction is None else f"{fraction * 100:.1f}%"

    return value


PIPELINE = Column("pipeline", _named("pipeline_name", "pipeline_id", "(no pipeline)"), right=False)

REPORT_COLUMNS: Final[dict[str, tuple[Column, ...]]] = {
    "deal_win_loss": (
        PIPELINE,
        Column("won", _field("deals_closed_won_count")),
        Column("lost", _field("deals_closed_lost_count")),
        Column("win rate", _percent("win_rate")),
        Column("amount won", _field("total_amount_won")),
        Column("amount lost", _field("total_amount_lost")),
        Column("avg won", _field("avg_deal_size_won")),
        Column("avg lost", _field("avg_deal_size_lost")),
    ),
    "deal_aging": (
        PIPELINE,
        Column("stage", _named("stage_name", "stage_id", "-"), right=False),
        Column("deals", _field("total_deal_count")),
        Column("at risk", _field("at_risk_deal_count")),
        Column("% at risk", _percent("percent_at_risk")),
        Column("amount", _field("total_amount")),
        Column("at-risk amount", _field("at_risk_amount")),
        Column("avg days", _field("avg_days_in_stage")),
        Column("median days", _field("median_days_in_stage")),
    ),
}

RUN_COLUMNS: Final = (
    Column("run id", _field("run_id"), right=False),
    Column("tenant", _field("tenant_id"), right=False),
    Column("report", _field("report_type"), right=False),
    Column("generated at", _field("generated_at"), right=False),
    Column("status", _field("status"), right=False),
    Column("facts", _field("fact_rows")),
    Column("error", _field("error_message"), right=False),
)


def shown(value: Any) -> str:
    """One value as a table cell."""
    if value is None:
        return NONE_SHOWN
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    # Error messages can span lines; a table cell cannot.
    return " ".join(str(value).split())


def _cells(rows: Sequence[Row], columns: Sequence[Column]) -> list[list[str]]:
    return [[shown(column.value(row)) for column in columns] for row in rows]


def text_table(rows: Sequence[Row], columns: Sequence[Column]) -> str:
    """An aligned plain-text table, or ``(no rows)``."""
    if not rows:
        return "(no rows)"
    cells = _cells(rows, columns)
    widths = [
        max(len(column.heading), *(len(line[index]) for line in cells))
        for index, column in enumerate(columns)
    ]

    def line(values: Sequence[str]) -> str:
        padded = (
            value.rjust(width) if column.right else value.ljust(width)
            for value, width, column in zip(values, widths, columns, strict=True)
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line([c.heading for c in columns]), rule, *map(line, cells)])


def markdown_table(rows: Sequence[Row], columns: Sequence[Column]) -> str:
    """A GitHub-flavoured markdown table (what Dagster renders in metadata)."""
    if not rows:
        return "_no rows_"

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(value.replace("|", "\\|") for value in values) + " |"

    rule = "|" + "|".join("---:" if c.right else "---" for c in columns) + "|"
    return "\n".join([line([c.heading for c in columns]), rule, *map(line, _cells(rows, columns))])


def json_value(value: Any) -> Any:
    """A JSON-ready value: ids and times as text, decimals as exact text."""
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def json_row(row: Row) -> dict[str, Any]:
    return {key: json_value(value) for key, value in row.items()}


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


def result_json(result: ReportResult) -> dict[str, Any]:
    return {"run": json_row(result.header), "facts": [json_row(row) for row in result.facts]}
