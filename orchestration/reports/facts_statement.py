"""The one statement that computes and writes a run's fact rows: its SQL and its settings.

Settings are applied with ``set_config(..., is_local => true)`` (``apply_local_settings``),
so they end with the run's transaction. docs/performance.md shows the plans that justify
each one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg import sql

from orchestration.reports.errors import ReportRunError
from orchestration.reports.parameters import ReportParameters
from orchestration.settings import MODELS_SCHEMA
from orchestration.sql_files import read_sql

REPORT_SQL_DIR: Final = Path(__file__).resolve().parent / "sql"

FACTS_SETTINGS: Final = {
    # A tenant about twice the benchmark's largest pushes the aging plan over
    # jit_above_cost; compiling its expressions then costs about what the whole statement
    # takes (docs/performance.md, "JIT off"). The plans are simple: JIT never pays off here.
    "jit": "off",
}


def report_sql(name: str) -> str:
    """A report's facts statement, ``reports/sql/<name>``."""
    return read_sql(REPORT_SQL_DIR, name)


def apply_local_settings(conn: psycopg.Connection[Any], settings: Mapping[str, str]) -> None:
    """Apply ``settings`` to the current transaction only, in one round trip."""
    conn.execute(
        "select set_config(name, setting, true) from unnest(%s::text[], %s::text[])"
        " as settings (name, setting)",
        (list(settings), list(settings.values())),
    )


def facts_statement_settings(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """The facts statement's transaction settings: the models' schema, then ``FACTS_SETTINGS``."""
    return {"search_path": sql.Identifier(MODELS_SCHEMA).as_string(conn), **FACTS_SETTINGS}


@dataclass(frozen=True)
class WrittenFacts:
    fact_count: int
    deal_count: int | None  # None: the run keeps no deals


def write_facts(
    conn: psycopg.Connection[Any],
    run_id: uuid.UUID,
    params: ReportParameters,
    generated_at: datetime,
) -> WrittenFacts:
    """Insert the run's fact rows, and its deals when it keeps them
    (``facts_statement_settings`` applied); return how many of each."""
    query_params = {"run_id": run_id, **params.query_params(generated_at)}
    try:
        # Unprepared on purpose: the planner then sees the actual parameters and drops
        # the predicates of filters that were not given (see the SQL file's header).
        cursor = conn.execute(report_sql(params.facts_sql), query_params, prepare=False)
    except psycopg.errors.UndefinedTable as error:
        raise ReportRunError(models_missing(error)) from error
    except psycopg.errors.NumericValueOutOfRange as error:
        raise ReportRunError(overflow_message(error, params)) from error
    if cursor.description is None:  # a plain INSERT (aging_facts.sql): facts only
        return WrittenFacts(fact_count=cursor.rowcount, deal_count=None)
    row = cursor.fetchone()
    assert row is not None
    return WrittenFacts(
        fact_count=int(row[0]), deal_count=int(row[1]) if params.store_deals else None
    )


_PRECISION = re.compile(r"precision (\d+), scale (\d+)")
# The columns of each report's fact and deal tables by (precision, scale): PostgreSQL's
# overflow error names the type only (report_storage.sql, warehouse/sql/).
_NUMERIC_COLUMNS: Final = {
    "deal_win_loss": {
        (20, 2): (
            "total_amount_won",
            "total_amount_lost",
            "avg_deal_size_won",
            "avg_deal_size_lost",
            "report_win_loss_deal.amount",
        ),
        (7, 4): ("win_rate", "win_rate_low", "win_rate_high"),
    },
    "deal_aging": {
        (20, 2): ("total_amount", "at_risk_amount", "report_aging_deal.amount"),
        (10, 2): ("avg_days_in_stage", "median_days_in_stage"),
        (12, 6): ("report_aging_deal.days_in_stage", "report_aging_deal.days_in_cycle"),
        (7, 4): ("percent_at_risk",),
    },
}


def overflow_message(error: psycopg.errors.NumericValueOutOfRange, params: ReportParameters) -> str:
    """Which column a value overflowed: PostgreSQL names the type, not the column, so the
    report's columns of that precision and scale are named."""
    detail = error.diag.message_detail or ""
    message = f"a value of the report is too large for its column ({error.diag.message_primary}"
    message += f"; {detail})" if detail else ")"
    found = _PRECISION.search(detail)
    if found is not None:
        key = (int(found.group(1)), int(found.group(2)))
        columns = _NUMERIC_COLUMNS.get(params.report_type, {}).get(key, ())
        if columns:
            message += f" in {', '.join(columns)}"
    return message + ": the tenant's amounts or times exceed what the report storage holds"


def finish_run(conn: psycopg.Connection[Any], run_id: uuid.UUID, written: WrittenFacts) -> int:
    """End the run SUCCEEDED in its facts transaction (``finish_run.sql``): its counts and
    the freshness of what it read. Returns the rows updated (0: no longer IN_PROGRESS)."""
    params = {
        "run_id": run_id,
        "fact_count": written.fact_count,
        "deal_count": written.deal_count,
    }
    try:
        return conn.execute(report_sql("finish_run.sql"), params).rowcount
    except psycopg.errors.UndefinedTable as error:
        raise ReportRunError(models_missing(error)) from error


def models_missing(error: psycopg.errors.UndefinedTable) -> str:
    """What to say when a statement finds a dbt model missing: build first."""
    return (
        f"the dbt models are not built in schema {MODELS_SCHEMA!r} of this database "
        f"({error.diag.message_primary}); run `dyno-reports build` first"
    )
