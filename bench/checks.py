"""Comparing the project's fact rows with the seeds' SQL (bench/seed_queries.py).

The seeds' rows are inserted into a temporary table with the fact table's types of the
seeds' columns, so that both sides are rounded by PostgreSQL into the same column types
before they are compared. Only what the seeds have is compared: their columns
(``SEED_COLUMNS``; not the columns issue 15 added, such as ``closed_count`` or the Wilson
interval) of the run's seeds' rows (``SEEDS_ROWS``: no breakdown, no total), so a run with
a breakdown or with deals is checked on the rows the same call without them stores. The
tests (tests/python/reports/test_seed_equivalence.py) use ``seed_rows``.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from bench.cases import Case
from bench.seed_queries import SEED_AGING_SQL, SEED_WIN_LOSS_SQL, typed

FACT_TABLES: Final = {
    "win_loss": "report_deal_win_loss_fact",
    "aging": "report_deal_aging_fact",
}
SEED_SQL: Final = {"win_loss": SEED_WIN_LOSS_SQL, "aging": SEED_AGING_SQL}
# The columns of the seeds' fact rows: what their SQL returns, and the tenant.
SEED_COLUMNS: Final = {
    "win_loss": (
        "tenant_id",
        "pipeline_id",
        "principal_type",
        "principal_id",
        "source",
        "stage_id",
        "deals_closed_won_count",
        "deals_closed_lost_count",
        "total_amount_won",
        "total_amount_lost",
        "avg_deal_size_won",
        "avg_deal_size_lost",
        "win_rate",
    ),
    "aging": (
        "tenant_id",
        "pipeline_id",
        "principal_type",
        "principal_id",
        "stage_id",
        "threshold_days",
        "cycle_threshold_days",
        "at_risk_deal_count",
        "at_risk_amount",
        "avg_days_in_stage",
        "median_days_in_stage",
        "total_deal_count",
        "total_amount",
        "percent_at_risk",
    ),
}
# A run's seeds' rows: not a breakdown value's row, not a total (issue 15 marks those).
SEEDS_ROWS: Final = {
    "win_loss": "breakdown is null and not all_pipelines",
    "aging": "breakdown is null and not all_pipelines and not all_stages",
}
# What an aging run computes from its as-of time; without period_end that is the run's own
# start, which the seeds' NOW() in another transaction cannot reproduce.
AS_OF_COLUMNS: Final = frozenset(
    {"at_risk_deal_count", "at_risk_amount", "avg_days_in_stage", "median_days_in_stage"}
    | {"percent_at_risk"}
)

Row = dict[str, Any]


def _sorted(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda row: (str(row["pipeline_id"]), str(row.get("stage_id"))))


def seed_rows(
    conn: psycopg.Connection[Any], query: str, params: dict[str, Any], like: str
) -> list[Row]:
    """The seeds' rows for ``params``, rounded through a temporary table with the types of
    table ``like``'s columns of the same names (the seeds' columns, and ``tenant_id``).

    Runs in the connection's current transaction and rolls it back at the end.
    """
    result = conn.execute(typed(query), params)
    columns = [column.name for column in result.description or []]
    rows = result.fetchall()
    schema, table = like.split(".")
    # CREATE TABLE AS keeps each column's type modifier (numeric(20, 2), ...) and none of
    # the fact table's constraints or the columns the seeds do not have.
    conn.execute(
        sql.SQL(
            "create temp table seed_facts on commit drop"
            " as select tenant_id, {} from {} where false"
        ).format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.Identifier(schema, table),
        )
    )
    if rows:
        insert = sql.SQL("insert into seed_facts ({}) values ({})").format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        )
        with conn.cursor() as cur:
            cur.executemany(insert, rows)
    with conn.cursor(row_factory=dict_row) as cur:
        stored = cur.execute("select * from seed_facts").fetchall()
    conn.rollback()
    for row in stored:
        row["tenant_id"] = params["tenant_id"]
    return _sorted(stored)


def project_rows(conn: psycopg.Connection[Any], case: Case, run_id: uuid.UUID) -> list[Row]:
    """The run's seeds' rows (``SEEDS_ROWS``), their ``SEED_COLUMNS`` only, in the order
    ``seed_rows`` uses."""
    query = sql.SQL("select {} from {} where run_id = %s and {}").format(
        sql.SQL(", ").join(map(sql.Identifier, SEED_COLUMNS[case.report])),
        sql.Identifier("dyno_crm", FACT_TABLES[case.report]),
        sql.SQL(SEEDS_ROWS[case.report]),
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(query, (run_id,)).fetchall()
    conn.rollback()
    return _sorted(rows)


def run_seed_sql(conn: psycopg.Connection[Any], case: Case, timeout_ms: int) -> list[Row] | None:
    """The seeds' rows for ``case``, or ``None`` when the query ran over ``timeout_ms``."""
    try:
        conn.execute("select set_config('statement_timeout', %s, true)", (str(timeout_ms),))
        return seed_rows(
            conn,
            SEED_SQL[case.report],
            case.seed_params(),
            f"dyno_crm.{FACT_TABLES[case.report]}",
        )
    except psycopg.errors.QueryCanceled:
        conn.rollback()
        return None


def compare(case: Case, ours: list[Row], seeds: list[Row] | None) -> str:
    """``equal``, ``DIFFERENT``, or ``not run`` when the seeds' SQL hit its limit."""
    if seeds is None:
        return "not run"
    if case.as_of_is_now:
        # Only what does not depend on the as-of time can be compared.
        ours = [{k: v for k, v in row.items() if k not in AS_OF_COLUMNS} for row in ours]
        seeds = [{k: v for k, v in row.items() if k not in AS_OF_COLUMNS} for row in seeds]
        return "equal*" if ours == seeds else "DIFFERENT"
    return "equal" if ours == seeds else "DIFFERENT"
