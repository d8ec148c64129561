"""A run's deals for people and tools: an aligned table, CSV or a JSON array, written as
the rows arrive (a big tenant's aging lists 260k deals; none is held longer than a page)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from itertools import chain, islice
from typing import Any, Final, TextIO

from orchestration.present.columns import Column, cells
from orchestration.present.json_rows import json_row, json_value
from orchestration.reports.stored_runs import Row

# Table widths come from the first rows; later, longer values widen their line only.
_WIDTH_ROWS: Final = 500


def _field(name: str) -> Any:
    return lambda row: row.get(name)


def _deal(row: Row) -> Any:
    return row.get("deal_name") or row.get("deal_id")


def _pipeline(row: Row) -> Any:
    return row.get("pipeline_name") or row.get("pipeline_id") or "(no pipeline)"


def _at_risk(row: Row) -> Any:
    if not row.get("at_risk"):
        return "no"
    return f"yes ({str(row.get('at_risk_by')).replace('_', ' ')})"


def _days(name: str) -> Any:
    return lambda row: None if row.get(name) is None else f"{row[name]:.2f}"


DEAL_COLUMNS: Final[dict[str, tuple[Column, ...]]] = {
    "deal_win_loss": (
        Column("deal", _deal, right=False),
        Column("pipeline", _pipeline, right=False),
        Column("outcome", _field("outcome"), right=False),
        Column("amount", _field("amount")),
        Column("closed at", _field("closed_at"), right=False),
        Column("first stage", lambda row: row.get("first_stage_name"), right=False),
        Column("source", _field("source"), right=False),
        Column("owner", _field("owned_by_user_id"), right=False),
        Column("assignee", _field("assigned_user_id"), right=False),
    ),
    "deal_aging": (
        Column("deal", _deal, right=False),
        Column("pipeline", _pipeline, right=False),
        Column("stage", lambda row: row.get("stage_name") or row.get("stage_id"), right=False),
        Column("days in stage", _days("days_in_stage")),
        Column("days in cycle", _days("days_in_cycle")),
        Column("threshold", _field("threshold_days")),
        Column("at risk", _at_risk, right=False),
        Column("amount", _field("amount")),
        Column("owner", _field("owned_by_user_id"), right=False),
        Column("assignee", _field("assigned_user_id"), right=False),
    ),
}


def write_deals_text(rows: Iterable[Row], report_type: str, out: TextIO) -> int:
    """An aligned table; returns how many deals."""
    columns = DEAL_COLUMNS[report_type]
    iterator = iter(rows)
    first = list(islice(iterator, _WIDTH_ROWS))
    if not first:
        out.write("(no deals)\n")
        return 0
    first_cells = cells(first, columns)
    widths = [
        max(len(column.heading), *(len(line[index]) for line in first_cells))
        for index, column in enumerate(columns)
    ]

    def line(values: list[str]) -> str:
        padded = (
            value.rjust(width) if column.right else value.ljust(width)
            for value, width, column in zip(values, widths, columns, strict=True)
        )
        return "  ".join(padded).rstrip() + "\n"

    out.write(line([column.heading for column in columns]))
    out.write("  ".join("-" * width for width in widths) + "\n")
    count = 0
    for values in chain(first_cells, (cells([row], columns)[0] for row in iterator)):
        out.write(line(values))
        count += 1
    return count


def write_deals_csv(rows: Iterable[Row], out: TextIO) -> int:
    """CSV with a header row of the column names; returns how many deals."""
    writer: Any = None
    count = 0
    for row in rows:
        if writer is None:
            writer = csv.writer(out)
            writer.writerow(list(row))
        writer.writerow([_csv_value(value) for value in row.values()])
        count += 1
    return count


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return json_value(value)


def write_deals_json(rows: Iterable[Row], out: TextIO) -> int:
    """One JSON array of deal objects; returns how many deals."""
    count = 0
    out.write("[")
    for row in rows:
        out.write(",\n  " if count else "\n  ")
        out.write(json.dumps(json_row(row)))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count
