"""The life of one report run: header, facts, outcome.

1. The ``IN_PROGRESS`` header is committed on its own, so an audit trail exists even if
   everything after it fails.
2. The fact rows and ``SUCCEEDED`` are committed in one transaction: a run's facts are all
   there or not at all.
3. Any error after the header rolls the facts back, marks the run ``FAILED`` with the
   message, and re-raises.

While a run is open its connection holds a session-level advisory lock derived from the
run id (taken before the header is written). A header still ``IN_PROGRESS`` whose lock
nobody holds belongs to a process that died; ``recover_stale_runs`` marks it ``FAILED``.
That check needs no extra privilege and is exact: the lock goes when the backend goes.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import cache
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb

from orchestration.reports.facts_settings import apply_facts_settings
from orchestration.reports.parameters import ReportParameters
from orchestration.settings import MODELS_SCHEMA, SQL_DIR

logger = logging.getLogger(__name__)

# First key of the two-int advisory lock space, so that the run locks cannot collide
# with single-bigint advisory locks other software takes. ASCII "DYNO".
LOCK_NAMESPACE: Final = 0x44594E4F
STALE_RUN_MESSAGE: Final = (
    "stale run: the process running this report ended before finishing "
    "(its session's run lock was free); marked FAILED by recovery"
)
MAX_ERROR_MESSAGE_CHARS: Final = 10_000


class ReportRunError(RuntimeError):
    """A run that could not complete for a reason of the run itself, not of its inputs."""


def run_lock_key(run_id: uuid.UUID) -> int:
    """Second key of the run's advisory lock: the run id's first 32 bits, signed."""
    return int.from_bytes(run_id.bytes[:4], "big", signed=True)


def lock_key_sql(*run_id_column: str) -> sql.Composable:
    """``run_lock_key`` in SQL, for the run id in the named column."""
    return sql.SQL("('x' || left({}::text, 8))::bit(32)::integer").format(
        sql.Identifier(*run_id_column)
    )


@cache
def load_sql(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def recover_stale_runs(conn: psycopg.Connection[Any]) -> list[uuid.UUID]:
    """Mark ``FAILED`` every ``IN_PROGRESS`` run whose owning session is gone.

    Runs in its own transaction; returns the ids of the runs it marked.
    """
    _require_idle(conn)
    with _storage_required(), conn.transaction():
        # The candidates are materialised first so that the lock function only ever sees
        # IN_PROGRESS runs: evaluated per row of a scan over all runs, it would take one lock
        # per finished run and could exhaust the shared lock table.
        rows = conn.execute(
            sql.SQL(
                "with candidates as materialized ("
                " select run_id from dyno_crm.report_run where status = 'IN_PROGRESS')"
                " update dyno_crm.report_run as runs"
                " set status = 'FAILED', error_message = %s"
                " from candidates"
                " where runs.run_id = candidates.run_id and runs.status = 'IN_PROGRESS'"
                " and pg_try_advisory_xact_lock(%s, {key})"
                " returning runs.run_id"
            ).format(key=lock_key_sql("candidates", "run_id")),
            (STALE_RUN_MESSAGE, LOCK_NAMESPACE),
        ).fetchall()
    recovered = [row[0] for row in rows]
    for run_id in recovered:
        logger.warning("marked stale report run %s FAILED", run_id)
    return recovered


def execute_report(
    conn: psycopg.Connection[Any],
    params: ReportParameters,
    *,
    statement_timeout_ms: int | None = None,
) -> uuid.UUID:
    """Run one report for validated ``params`` and return its run id."""
    _require_idle(conn)
    recover_stale_runs(conn)
    run_id = uuid.uuid4()
    lock_key = run_lock_key(run_id)
    header_written = False
    try:
        with _storage_required(), conn.transaction():
            conn.execute("select pg_advisory_lock(%s, %s)", (LOCK_NAMESPACE, lock_key))
            generated_at = _fetch_now(conn)
            _insert_header(conn, run_id, params, generated_at)
        header_written = True
        with conn.transaction():
            _write_facts(conn, run_id, params, generated_at, statement_timeout_ms)
            finished = conn.execute(
                "update dyno_crm.report_run set status = 'SUCCEEDED'"
                " where run_id = %s and status = 'IN_PROGRESS'",
                (run_id,),
            )
            if finished.rowcount != 1:
                raise ReportRunError(
                    f"run {run_id} is no longer IN_PROGRESS (recovered as stale while it ran)"
                )
    except BaseException as error:
        if header_written:
            _mark_failed(conn, run_id, error)
        raise
    finally:
        # A session lock outlives a rolled-back transaction: always give it back.
        _release_lock(conn, lock_key)
    return run_id


def _require_idle(conn: psycopg.Connection[Any]) -> None:
    status = conn.info.transaction_status
    if status != TransactionStatus.IDLE:
        raise ReportRunError(
            "the connection has an open transaction (status "
            f"{status.name}); commit or roll it back before running a report"
        )


def _fetch_now(conn: psycopg.Connection[Any]) -> datetime:
    row = conn.execute("select now()").fetchone()
    assert row is not None
    now: datetime = row[0]
    return now


def _insert_header(
    conn: psycopg.Connection[Any],
    run_id: uuid.UUID,
    params: ReportParameters,
    generated_at: datetime,
) -> None:
    conn.execute(
        "insert into dyno_crm.report_run"
        " (run_id, tenant_id, report_type, generated_at, period_start, period_end,"
        " input_params, status)"
        " values (%s, %s, %s, %s, %s, %s, %s, 'IN_PROGRESS')",
        (
            run_id,
            params.tenant_id,
            params.report_type,
            generated_at,
            params.period_start,
            params.period_end,
            Jsonb(params.input_params(generated_at)),
        ),
    )


@contextmanager
def _storage_required() -> Iterator[None]:
    try:
        yield
    except psycopg.errors.UndefinedTable as error:
        raise ReportRunError(
            "the report storage tables are missing from this database "
            f"({error.diag.message_primary}); run `dyno-reports build` first"
        ) from error


def _write_facts(
    conn: psycopg.Connection[Any],
    run_id: uuid.UUID,
    params: ReportParameters,
    generated_at: datetime,
    statement_timeout_ms: int | None,
) -> None:
    search_path = sql.Identifier(MODELS_SCHEMA).as_string(conn)
    conn.execute("select set_config('search_path', %s, true)", (search_path,))
    apply_facts_settings(conn)
    if statement_timeout_ms is not None:
        conn.execute(
            "select set_config('statement_timeout', %s, true)", (str(statement_timeout_ms),)
        )
    query_params = {"run_id": run_id, **params.query_params(generated_at)}
    try:
        # Unprepared on purpose: the planner then sees the actual parameters and drops
        # the predicates of filters that were not given (see the SQL file's header).
        conn.execute(load_sql(params.facts_sql), query_params, prepare=False)
    except psycopg.errors.UndefinedTable as error:
        raise ReportRunError(
            f"the dbt models are not built in schema {MODELS_SCHEMA!r} of this database "
            f"({error.diag.message_primary}); run `dyno-reports build` first"
        ) from error


def _failure_message(error: BaseException) -> str:
    message = f"{type(error).__name__}: {error}".replace("\x00", "\\0")
    return message[:MAX_ERROR_MESSAGE_CHARS]


def _mark_failed(conn: psycopg.Connection[Any], run_id: uuid.UUID, error: BaseException) -> None:
    message = _failure_message(error)
    update = (
        "update dyno_crm.report_run set status = 'FAILED', error_message = %s"
        " where run_id = %s and status = 'IN_PROGRESS'"
    )
    if not conn.closed and not conn.broken:
        try:
            with conn.transaction():
                conn.execute(update, (message, run_id))
            return
        except psycopg.Error:
            logger.warning("could not mark run %s FAILED on its connection", run_id)
    # The run's own connection is gone (server restart, network): the new session can
    # write the outcome now, since the dead session's lock went with it.
    try:
        with psycopg.connect(conn.info.dsn, connect_timeout=10) as fresh:
            fresh.execute(update, (message, run_id))
    except psycopg.Error:
        logger.warning(
            "could not mark run %s FAILED; recover_stale_runs will on the next run", run_id
        )


def _release_lock(conn: psycopg.Connection[Any], lock_key: int) -> None:
    if conn.closed or conn.broken:
        return  # the server released it with the session
    try:
        with conn.transaction():
            conn.execute("select pg_advisory_unlock(%s, %s)", (LOCK_NAMESPACE, lock_key))
    except psycopg.Error:
        logger.warning("could not release run lock %s; it goes with the session", lock_key)
