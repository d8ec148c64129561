"""Reading a run back: its header and its fact rows as plain dicts."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row

FACT_TABLES = {
    "deal_win_loss": "dyno_crm.report_deal_win_loss_fact",
    "deal_aging": "dyno_crm.report_deal_aging_fact",
}


def header(conn: psycopg.Connection[Any], run_id: uuid.UUID) -> dict[str, Any]:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "select * from dyno_crm.report_run where run_id = %s", (run_id,)
        ).fetchone()
    conn.rollback()
    assert row is not None, f"no report_run row for {run_id}"
    return row


def facts(conn: psycopg.Connection[Any], run_id: uuid.UUID) -> list[dict[str, Any]]:
    """The run's fact rows without run_id, in a stable order."""
    table = FACT_TABLES[header(conn, run_id)["report_type"]]
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"select * from {table} where run_id = %s",
            (run_id,),
        ).fetchall()
    conn.rollback()
    for row in rows:
        del row["run_id"]
    return sorted(rows, key=lambda row: (str(row["pipeline_id"]), str(row.get("stage_id"))))


def by_pipeline(rows: list[dict[str, Any]]) -> dict[uuid.UUID | None, dict[str, Any]]:
    keyed = {row["pipeline_id"]: row for row in rows}
    assert len(keyed) == len(rows), "more than one row per pipeline"
    return keyed


def fact_count(conn: psycopg.Connection[Any], run_id: uuid.UUID) -> int:
    row = conn.execute(
        "select (select count(*) from dyno_crm.report_deal_win_loss_fact where run_id = %(r)s)"
        " + (select count(*) from dyno_crm.report_deal_aging_fact where run_id = %(r)s)",
        {"r": run_id},
    ).fetchone()
    conn.rollback()
    assert row is not None
    return int(row[0])


def run_count(conn: psycopg.Connection[Any]) -> int:
    """How many report_run headers the database holds."""
    row = conn.execute("select count(*) from dyno_crm.report_run").fetchone()
    conn.rollback()
    assert row is not None
    return int(row[0])
