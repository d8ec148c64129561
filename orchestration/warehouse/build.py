"""Building everything the reports need in the ``PG*`` database."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from orchestration.db import connect
from orchestration.warehouse.build_lock import build_lock
from orchestration.warehouse.dbt_cli import run_dbt
from orchestration.warehouse.storage import create_source_tables, ensure_report_storage

logger = logging.getLogger(__name__)

SOURCE_SCHEMA = "dyno_crm"
SOURCE_TABLES = ("pipeline", "pipeline_stage", "deal", "deal_pipeline_stage_state")


class BuildError(RuntimeError):
    """The database cannot hold the reports as it is; the message says what to do."""


def missing_source_tables(conn: psycopg.Connection[Any]) -> list[str]:
    with conn.transaction():
        rows = conn.execute(
            "select table_name from information_schema.tables"
            " where table_schema = %s and table_name = any(%s)",
            (SOURCE_SCHEMA, list(SOURCE_TABLES)),
        ).fetchall()
    present = {row[0] for row in rows}
    return [table for table in SOURCE_TABLES if table not in present]


def ensure_source_tables(conn: psycopg.Connection[Any]) -> bool:
    """Create the CRM source tables, empty, in a database without any; True if it did.

    Existing CRM source tables are never created or altered. A database with only some of
    them is refused (``BuildError``): that is a partial or wrong warehouse.
    """
    missing = missing_source_tables(conn)
    if len(missing) == len(SOURCE_TABLES):
        create_source_tables(conn)
        return True
    if missing:
        raise BuildError(
            f"database {conn.info.dbname!r} lacks the CRM source tables "
            f"{', '.join(f'{SOURCE_SCHEMA}.{t}' for t in missing)} (it has the others);"
            " check PGDATABASE, or load the missing tables first"
        )
    return False


def build_reports_database(
    environ: Mapping[str, str] | None = None, dbt_args: Sequence[str] = ()
) -> str:
    """Create the report storage if missing, then ``dbt build`` (models and their tests).

    A database without any CRM source table (a new, empty one) gets empty tables from the
    contract (``ensure_source_tables``), so that the project builds and the reports run,
    empty, until data is loaded and the models are rebuilt. Returns dbt's output.
    """
    with connect(environ) as conn, build_lock(conn, logger.warning):
        if ensure_source_tables(conn):
            logger.warning(
                "no CRM source tables in schema %s: created empty ones from the contract",
                SOURCE_SCHEMA,
            )
        ensure_report_storage(conn)
        return run_dbt(["build", *dbt_args], environ=environ)
