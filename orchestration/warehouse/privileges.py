"""A least-privilege database role for running the reports.

``grant_report_runner(conn, "report_runner")`` creates (if missing) a ``NOLOGIN`` group role
and grants it exactly what a report run uses (``warehouse/sql/report_runner_grants.sql``):
``SELECT`` on the CRM sources and the dbt models, ``INSERT``/``UPDATE`` on ``report_run``,
``INSERT`` on the fact tables (each with ``SELECT``, which the run's own reads need). Log in
as a member:
``create role alice login in role report_runner``.

Run it after ``dyno-reports build`` (the models' schema must exist), as the role that runs
dbt, or name that role as ``builder``: tables dbt creates later get the grant by default
privileges of the builder.
"""

from __future__ import annotations

import re
from typing import Any, Final

import psycopg
from psycopg import sql

from orchestration.settings import MODELS_SCHEMA
from orchestration.warehouse.storage import warehouse_sql

# PostgreSQL truncates longer names (NAMEDATALEN - 1), which would grant to another role.
MAX_ROLE_NAME_BYTES: Final = 63
_PLACEHOLDER: Final = re.compile(r"%\((\w+)\)s")


class RoleNameError(ValueError):
    """A role name PostgreSQL would not keep as given; the message names the field."""


def check_role_name(field: str, name: object) -> str:
    if not isinstance(name, str) or not name:
        raise RoleNameError(f"{field}: must be a non-empty string, not {name!r}")
    if "\x00" in name:
        raise RoleNameError(f"{field}: must not contain NUL characters")
    if len(name.encode()) > MAX_ROLE_NAME_BYTES:
        raise RoleNameError(f"{field}: must be at most {MAX_ROLE_NAME_BYTES} bytes")
    return name


def compose_identifiers(text: str, **identifiers: str) -> sql.Composed:
    """SQL text whose ``%(name)s`` placeholders are identifiers, each quoted by psycopg."""
    parts: list[sql.Composable] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(sql.SQL(text[position : match.start()]))
        parts.append(sql.Identifier(identifiers[match.group(1)]))
        position = match.end()
    parts.append(sql.SQL(text[position:]))
    return sql.Composed(parts)


def grant_report_runner(
    conn: psycopg.Connection[Any], role: str, *, builder: str | None = None
) -> None:
    """Create the group role ``role`` if missing and grant it what report runs need.

    ``builder`` is the role that runs dbt (default: the connected user). Idempotent; one
    transaction.
    """
    runner = check_role_name("role", role)
    with conn.transaction():
        if builder is None:
            row = conn.execute("select current_user").fetchone()
            assert row is not None
            builder = str(row[0])
        builder = check_role_name("builder", builder)
        exists = conn.execute("select from pg_roles where rolname = %s", (runner,)).fetchone()
        if exists is None:
            conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(runner)))
        conn.execute(
            compose_identifiers(
                warehouse_sql("report_runner_grants.sql"),
                runner=runner,
                builder=builder,
                models_schema=MODELS_SCHEMA,
            )
        )
