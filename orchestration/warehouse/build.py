"""Building everything the reports need in the ``PG*`` database."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg

from orchestration.db import connect
from orchestration.settings import MODELS_SCHEMA
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


def check_build_privileges(conn: psycopg.Connection[Any]) -> None:
    """Refuse, saying what to do, a role that cannot build the models here (a report-runner
    role, say), before the build fails half-way with dbt's permission error."""
    with conn.transaction():
        row = conn.execute(
            "select current_user,"
            " has_database_privilege(current_database(), 'CREATE'),"
            " to_regnamespace(%(schema)s) is not null,"
            " to_regnamespace(%(schema)s) is not null"
            " and has_schema_privilege(%(schema)s, 'CREATE')",
            {"schema": MODELS_SCHEMA},
        ).fetchone()
    assert row is not None
    user, create_in_database, schema_exists, create_in_schema = row
    if (schema_exists and not create_in_schema) or (not schema_exists and not create_in_database):
        where = f"schema {MODELS_SCHEMA}" if schema_exists else f"database {conn.info.dbname}"
        raise BuildError(
            f"role {user!r} may not create tables in {where}, so it cannot build the models;"
            " run `dyno-reports build` as the role that owns them (the one that built them"
            " first), not as a report-runner role"
        )


def build_reports_database(
    environ: Mapping[str, str] | None = None, dbt_args: Sequence[str] = ()
) -> str:
    """Create the report storage if missing, then ``dbt build`` (models and their tests).

    A database without any CRM source table (a new, empty one) gets empty tables from the
    contract (``ensure_source_tables``), so that the project builds and the reports run,
    empty, until data is loaded and the models are rebuilt. Returns dbt's output.
    """
    with connect(environ) as conn:
        check_build_privileges(conn)
        with build_lock(conn, logger.warning):
            if ensure_source_tables(conn):
                logger.warning(
                    "no CRM source tables in schema %s: created empty ones from the contract",
                    SOURCE_SCHEMA,
                )
            ensure_report_storage(conn)
            return run_dbt(["build", *dbt_args], environ=environ)
