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


def _pipeline(row: Row) -> Any:
    if row.get("all_pipelines"):
        return "(all pipelines)"
    return _named("pipeline_name", "pipeline_id", "(no pipeline)")(row)


def _stage(row: Row) -> Any:
    if row.get("all_stages"):
        return "(all stages)"
    return _named("stage_name", "stage_id", "-")(row)


# What a breakdown row's value is, in words: the dimension and its value, or "none" for
# the deals without one (a value's own row, never a total).
_BREAKDOWN_WORDS: Final = {
    "user": "user",
    "group": "group",
    "source": "source",
    "first_stage": "first stage",
}


def breakdown_value(row: Row) -> Any:
    """The value a breakdown row stands for (None on the seeds' and total rows)."""
    breakdown = row.get("breakdown")
    if breakdown in ("user", "group"):
        return row.get("principal_id")
    if breakdown == "source":
        return row.get("source")
    if breakdown == "first_stage":
        return row.get("stage_name") or row.get("stage_id")
    return None


def _by(row: Row) -> Any:
    breakdown = row.get("breakdown")
    if breakdown is None:
        return None
    value = breakdown_value(row)
    return f"{_BREAKDOWN_WORDS.get(breakdown, breakdown)} {'(none)' if value is None else value}"


def _interval(row: Row) -> Any:
    low, high = row.get("win_rate_low"), row.get("win_rate_high")
    if low is None or high is None:
        return None
    return f"{low * 100:.1f}-{high * 100:.1f}%"


PIPELINE = Column("pipeline", _pipeline, right=False)
BY = Column("by", _by, right=False)

REPORT_COLUMNS: Final[dict[str, tuple[Column, ...]]] = {
    "deal_win_loss": (
        PIPELINE,
        BY,
        Column("won", _field("deals_closed_won_count")),
        Column("lost", _field("deals_closed_lost_count")),
        # the sample size next to each rate: 31% of 13 deals is not 31% of 1,300
        Column("n", _field("closed_count")),
        Column("win rate", _percent("win_rate")),
        Column("95% interval", _interval),
        Column("amount won", _field("total_amount_won")),
        Column("amount lost", _field("total_amount_lost")),
        Column("win rate (amount)", _percent("win_rate_by_amount")),
        Column("avg won", _field("avg_deal_size_won")),
        Column("avg lost", _field("avg_deal_size_lost")),
    ),
    "deal_aging": (
        PIPELINE,
        Column("stage", _stage, right=False),
        BY,
        Column("deals", _field("total_deal_count")),
        Column("at risk", _field("at_risk_deal_count")),
        Column("% at risk", _percent("percent_at_risk")),
        Column("threshold", _field("threshold_days")),
        Column("amount", _field("total_amount")),
        Column("at-risk amount", _field("at_risk_amount")),
        Column("avg days", _field("avg_days_in_stage")),
        Column("median days", _field("median_days_in_stage")),
    ),
}


def report_columns(report_type: str, facts: Sequence[Row]) -> tuple[Column, ...]:
    """The report's columns; the "by" column only when a row has a breakdown."""
    columns = REPORT_COLUMNS[report_type]
    if any(row.get("breakdown") is not None for row in facts):
        return columns
    return tuple(column for column in columns if column is not BY)


RUN_COLUMNS: Final = (
    Column("run id", _field("run_id"), right=False),
    Column("tenant", _field("tenant_id"), right=False),
    Column("report", _field("report_type"), right=False),
    Column("generated at", _field("generated_at"), right=False),
    Column("status", _field("status"), right=False),
    Column("facts", _field("fact_rows")),
    Column("error", _field("error_message"), right=False),
)


TENANT_COLUMNS: Final = (
    Column("tenant", _field("tenant_id"), right=False),
    Column("deals", _field("deal_count")),
    Column("open deals", _field("open_deal_count")),
    Column("pipelines", _field("pipeline_count")),
    Column("latest stage entry", _field("latest_stage_entry"), right=False),
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
