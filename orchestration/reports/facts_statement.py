"""The one statement that computes and writes a run's fact rows: its SQL and its settings.

Settings are applied with ``set_config(..., is_local => true)`` (``apply_local_settings``),
so they end with the run's transaction. docs/performance.md shows the plans that justify
each one.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
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


def write_facts(
    conn: psycopg.Connection[Any],
    run_id: uuid.UUID,
    params: ReportParameters,
    generated_at: datetime,
) -> int:
    """Insert the run's fact rows (``facts_statement_settings`` applied); return how many."""
    query_params = {"run_id": run_id, **params.query_params(generated_at)}
    try:
        # Unprepared on purpose: the planner then sees the actual parameters and drops
        # the predicates of filters that were not given (see the SQL file's header).
        inserted = conn.execute(report_sql(params.facts_sql), query_params, prepare=False)
    except psycopg.errors.UndefinedTable as error:
        raise ReportRunError(
            f"the dbt models are not built in schema {MODELS_SCHEMA!r} of this database "
            f"({error.diag.message_primary}); run `dyno-reports build` first"
        ) from error
    return inserted.rowcount
