"""Keeping ``report_run`` honest when the Dagster run that wrote a header dies.

A header is tied to its Dagster run by ``report_run.dagster_run_id``: the Dagster report
runner opens its session with ``dagster_run_session``, and the column's default copies the
session's run id into each header it inserts (``warehouse/sql/report_run_dagster.sql``).

Two mechanisms cover a dead run, because each sees what the other cannot:

- ``fail_headers_of_dagster_run`` (run-failure sensor): Dagster declared the run failed,
  so its open headers are marked ``FAILED`` even when their database session is still alive,
  e.g. a killed worker whose backend is blocked on a lock and has not noticed yet. The report
  API's final ``update ... where status = 'IN_PROGRESS'`` then finds nothing and rolls the
  facts back, so a header never turns ``SUCCEEDED`` after this.
- ``recover_stale_runs`` (stale-run sensor): headers whose session is gone, whatever started
  them, including runs Dagster never learned had died.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import psycopg

from orchestration.reports.errors import MAX_ERROR_MESSAGE_CHARS

DAGSTER_RUN_SETTING: Final = "dyno.dagster_run_id"


@contextmanager
def dagster_run_session(conn: psycopg.Connection[Any], dagster_run_id: str) -> Iterator[None]:
    """Headers this connection writes inside the block carry ``dagster_run_id``.

    A session setting, committed at once (the report API wants an idle connection), and
    cleared on the way out so that a reused connection does not tag later runs.
    """
    _set_dagster_run(conn, dagster_run_id)
    try:
        yield
    finally:
        if not conn.closed and not conn.broken:
            _set_dagster_run(conn, "")


def _set_dagster_run(conn: psycopg.Connection[Any], value: str) -> None:
    with conn.transaction():
        conn.execute("select set_config(%s, %s, false)", (DAGSTER_RUN_SETTING, value))


def dead_run_message(dagster_run_id: str, reason: str) -> str:
    message = f"Dagster run {dagster_run_id} failed before this report finished: {reason}"
    return message[:MAX_ERROR_MESSAGE_CHARS]


def fail_headers_of_dagster_run(
    conn: psycopg.Connection[Any], dagster_run_id: str, reason: str
) -> list[uuid.UUID]:
    """Mark ``FAILED`` every header of ``dagster_run_id`` still ``IN_PROGRESS``; return their ids.

    Finished headers are left alone: a run that failed after some of its reports succeeded
    keeps those. Uses the partial index on ``IN_PROGRESS`` headers, so it is cheap to call
    for every failed run.
    """
    with conn.transaction():
        rows = conn.execute(
            "update dyno_crm.report_run set status = 'FAILED', error_message = %s"
            " where status = 'IN_PROGRESS' and dagster_run_id = %s"
            " returning run_id",
            (dead_run_message(dagster_run_id, reason), dagster_run_id),
        ).fetchall()
    return sorted(row[0] for row in rows)


def headers_of_dagster_run(
    conn: psycopg.Connection[Any], dagster_run_id: str
) -> list[tuple[uuid.UUID, str, str]]:
    """(run id, report type, status) of every header ``dagster_run_id`` wrote."""
    with conn.transaction():
        rows = conn.execute(
            "select run_id, report_type, status from dyno_crm.report_run"
            " where dagster_run_id = %s order by generated_at, run_id",
            (dagster_run_id,),
        ).fetchall()
    return [(row[0], row[1], row[2]) for row in rows]
