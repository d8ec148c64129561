"""Building everything the reports need in the ``PG*`` database."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from orchestration.db import connect
from orchestration.dbt_cli import run_dbt
from orchestration.storage import create_source_tables, ensure_report_storage

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


def build_reports_database(
    environ: Mapping[str, str] | None = None, dbt_args: Sequence[str] = ()
) -> str:
    """Create the report storage if missing, then ``dbt build`` (models and their tests).

    Existing CRM source tables are never created or altered. A database without any of
    them (a new, empty one) gets empty tables from the contract, so that the project builds
    and the reports run, empty, until data is loaded and the models are rebuilt. A database
    with only some of them is refused: that is a partial or wrong warehouse.
    Returns dbt's output.
    """
    with connect(environ) as conn:
        missing = missing_source_tables(conn)
        if len(missing) == len(SOURCE_TABLES):
            logger.warning(
                "no CRM source tables in schema %s: created empty ones from the contract",
                SOURCE_SCHEMA,
            )
            create_source_tables(conn)
        elif missing:
            database = conn.info.dbname
            raise BuildError(
                f"database {database!r} lacks the CRM source tables "
                f"{', '.join(f'{SOURCE_SCHEMA}.{t}' for t in missing)} (it has the others);"
                " check PGDATABASE, or load the missing tables first"
            )
        ensure_report_storage(conn)
    return run_dbt(["build", *dbt_args], environ=environ)
