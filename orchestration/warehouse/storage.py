"""The project's own tables: report storage and its migrations, and (demo and tests only)
the CRM sources.

Migrations check first rather than ``add column if not exists``: ALTER TABLE and CREATE
INDEX take strong locks even when they do nothing, and would queue behind (and block)
running reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import psycopg

from orchestration.sql_files import read_sql

WAREHOUSE_SQL_DIR: Final = Path(__file__).resolve().parent / "sql"


def warehouse_sql(name: str) -> str:
    """A statement of ``warehouse/sql/<name>``."""
    return read_sql(WAREHOUSE_SQL_DIR, name)


def ensure_report_storage(conn: psycopg.Connection[Any]) -> None:
    """Create ``report_run`` and the fact tables if missing (idempotent, one transaction)."""
    with conn.transaction():
        conn.execute(warehouse_sql("report_storage.sql"))
        ensure_dagster_run_column(conn)
        ensure_fact_count_column(conn)


def create_source_tables(conn: psycopg.Connection[Any]) -> None:
    """Create the CRM source tables of the contract. Never called on a user's warehouse."""
    with conn.transaction():
        conn.execute(warehouse_sql("crm_sources.sql"))


def _report_run_has_column(conn: psycopg.Connection[Any], column: str) -> bool:
    present = conn.execute(
        "select 1 from information_schema.columns"
        " where table_schema = 'dyno_crm' and table_name = 'report_run'"
        " and column_name = %s",
        (column,),
    ).fetchone()
    return present is not None


def ensure_fact_count_column(conn: psycopg.Connection[Any]) -> None:
    """Add ``report_run.fact_count`` if missing (idempotent, one transaction)."""
    with conn.transaction():
        if not _report_run_has_column(conn, "fact_count"):
            conn.execute(warehouse_sql("report_run_fact_count.sql"))


def ensure_dagster_run_column(conn: psycopg.Connection[Any]) -> None:
    """Add ``report_run.dagster_run_id`` and its index if missing (idempotent, one
    transaction); see ``orchestration.reports.dagster_runs``."""
    with conn.transaction():
        if not _report_run_has_column(conn, "dagster_run_id"):
            conn.execute(warehouse_sql("report_run_dagster.sql"))
        indexed = conn.execute(
            "select to_regclass('dyno_crm.ix_report_run_dagster_run')"
        ).fetchone()
        if indexed is None or indexed[0] is None:
            conn.execute(warehouse_sql("report_run_dagster_index.sql"))
