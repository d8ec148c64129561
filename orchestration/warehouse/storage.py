"""The project's own tables: report storage and its migrations, and (demo and tests only)
the CRM sources.

Storage that is current is only looked at, never touched: ``CREATE INDEX IF NOT EXISTS``,
``ALTER TABLE`` and the like take strong locks even when they do nothing, which would queue
in front of running reports and, taken table after table, deadlock with them (a report
holds the header, then the facts, then the header). Only missing storage gets DDL, which
waits at most ``STORAGE_LOCK_TIMEOUT_MS`` per attempt and is retried with backoff, so a
long report delays a build, never the reverse.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import psycopg

from orchestration.sql_files import read_sql

logger = logging.getLogger(__name__)

WAREHOUSE_SQL_DIR: Final = Path(__file__).resolve().parent / "sql"
# How long one attempt at storage DDL may wait for a lock, and for how long it is retried.
STORAGE_LOCK_TIMEOUT_MS: Final = 2_000
STORAGE_RETRY_S: Final = 600.0
_FIRST_PAUSE_S: Final = 0.2
_LONGEST_PAUSE_S: Final = 10.0
_STORAGE_SCHEMA: Final = "dyno_crm"
# The tables and indexes report_storage.sql creates (an index lives in its table's schema).
_CREATED: Final = re.compile(r"create\s+(?:table|index)\s+if\s+not\s+exists\s+([\w.]+)", re.I)


@dataclass(frozen=True)
class _Migration:
    """Columns the seeds' ``table`` lacks (``column`` is the first, checked for), their
    SQL, and an index over them if any."""

    column: str
    column_sql: str
    index: str | None = None
    index_sql: str | None = None
    table: str = "report_run"


# Columns added to existing storage, in the order they came (see docs/deviations.md).
_MIGRATIONS: Final = (
    # orchestration.reports.dagster_runs
    _Migration(
        "dagster_run_id",
        "report_run_dagster.sql",
        "dyno_crm.ix_report_run_dagster_run",
        "report_run_dagster_index.sql",
    ),
    # the audit's count of a run's fact rows
    _Migration("fact_count", "report_run_fact_count.sql"),
    # orchestration.reports.requests
    _Migration(
        "request_id",
        "report_run_request.sql",
        "dyno_crm.ux_report_run_request",
        "report_run_request_index.sql",
    ),
    # the deals behind every number (orchestration.reports.facts_statement)
    _Migration("deal_count", "report_run_deals.sql"),
    _Migration("data_latest_stage_entry", "report_run_freshness.sql"),
    # breakdowns, totals and win-rate intervals; the uniqueness extended to them
    _Migration(
        "breakdown",
        "report_win_loss_breakdowns.sql",
        "dyno_crm.ux_rdw1_dimensions",
        "report_win_loss_dimensions_index.sql",
        table="report_deal_win_loss_fact",
    ),
    _Migration(
        "breakdown",
        "report_aging_breakdowns.sql",
        "dyno_crm.ux_rdfa_dimensions",
        "report_aging_dimensions_index.sql",
        table="report_deal_aging_fact",
    ),
)


def warehouse_sql(name: str) -> str:
    """A statement of ``warehouse/sql/<name>``."""
    return read_sql(WAREHOUSE_SQL_DIR, name)


def missing_storage(conn: psycopg.Connection[Any]) -> list[str]:
    """What of the report storage this database lacks, read from the catalogue only (no lock
    on the tables): tables, indexes and migrated columns, by name."""
    names = [
        name if "." in name else f"{_STORAGE_SCHEMA}.{name}"
        for name in _CREATED.findall(warehouse_sql("report_storage.sql"))
    ]
    with conn.transaction():
        rows = conn.execute(
            "select name from unnest(%s::text[]) with ordinality as wanted (name, position)"
            " where to_regclass(name) is null order by position",
            ([*names, *(m.index for m in _MIGRATIONS if m.index)],),
        ).fetchall()
        missing = [str(row[0]) for row in rows]
        for migration in _MIGRATIONS:
            if not _has_column(conn, migration.table, migration.column):
                missing.append(f"{_STORAGE_SCHEMA}.{migration.table}.{migration.column}")
    return missing


def ensure_report_storage(conn: psycopg.Connection[Any]) -> None:
    """Create ``report_run``, the fact tables and their migrations where missing.

    Idempotent. Current storage is left untouched (no DDL, no lock on the tables); missing
    storage is created in one transaction, retried while it cannot get its locks in time.
    """
    missing = missing_storage(conn)
    if not missing:
        return
    logger.info("report storage: creating %s", ", ".join(missing))
    deadline = time.monotonic() + STORAGE_RETRY_S
    pause = _FIRST_PAUSE_S
    while True:
        try:
            with conn.transaction():
                conn.execute(
                    "select set_config('lock_timeout', %s, true)", (str(STORAGE_LOCK_TIMEOUT_MS),)
                )
                conn.execute(warehouse_sql("report_storage.sql"))
                for migration in _MIGRATIONS:
                    _migrate(conn, migration)
            return
        except (psycopg.errors.LockNotAvailable, psycopg.errors.DeadlockDetected) as error:
            if time.monotonic() + pause > deadline:
                raise
            logger.warning(
                "report storage: %s; trying again in %.1f s",
                error.diag.message_primary,
                pause,
            )
            time.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE_S)


def create_source_tables(conn: psycopg.Connection[Any]) -> None:
    """Create the CRM source tables of the contract. Never called on a user's warehouse."""
    with conn.transaction():
        conn.execute(warehouse_sql("crm_sources.sql"))


def _has_column(conn: psycopg.Connection[Any], table: str, column: str) -> bool:
    present = conn.execute(
        "select 1 from information_schema.columns"
        " where table_schema = 'dyno_crm' and table_name = %s and column_name = %s",
        (table, column),
    ).fetchone()
    return present is not None


def _migrate(conn: psycopg.Connection[Any], migration: _Migration) -> None:
    """Add the migration's column, then its index, where missing (the caller's transaction)."""
    if not _has_column(conn, migration.table, migration.column):
        conn.execute(warehouse_sql(migration.column_sql))
    if migration.index is not None and migration.index_sql is not None:
        indexed = conn.execute("select to_regclass(%s)", (migration.index,)).fetchone()
        if indexed is None or indexed[0] is None:
            conn.execute(warehouse_sql(migration.index_sql))
