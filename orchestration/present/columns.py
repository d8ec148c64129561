"""Which columns a report's rows and a list of runs show, and how one value reads in a cell."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from orchestration.reports.stored_runs import Row

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


def cells(rows: Sequence[Row], columns: Sequence[Column]) -> list[list[str]]:
    return [[shown(column.value(row)) for column in columns] for row in rows]
