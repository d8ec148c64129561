"""Creating the project's own tables: report storage, and (demo and tests only) the CRM sources."""

from __future__ import annotations

from typing import Any

import psycopg

from orchestration.reports.runs import ensure_fact_count_column, load_sql
from orchestration.run_health import ensure_dagster_run_column


def ensure_report_storage(conn: psycopg.Connection[Any]) -> None:
    """Create ``report_run`` and the fact tables if missing (idempotent, one transaction)."""
    with conn.transaction():
        conn.execute(load_sql("report_storage.sql"))
        ensure_dagster_run_column(conn)
        ensure_fact_count_column(conn)


def create_source_tables(conn: psycopg.Connection[Any]) -> None:
    """Create the CRM source tables of the contract. Never called on a user's warehouse."""
    with conn.transaction():
        conn.execute(load_sql("crm_sources.sql"))
