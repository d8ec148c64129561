"""The life of one report run: header, facts, outcome.

1. The ``IN_PROGRESS`` header is committed before the facts are computed (together with
   the recovery of stale runs), so an audit trail exists even if everything after it fails.
2. The fact rows and ``SUCCEEDED`` are committed in one transaction: a run's facts are all
   there or not at all.
3. Any error after the header rolls the facts back, marks the run ``FAILED`` with the
   message, and re-raises.

While a run is open its connection holds a session-level advisory lock derived from the
run id (taken before the header is written). A header still ``IN_PROGRESS`` whose lock
nobody holds belongs to a process that died; ``recover_stale_runs`` marks it ``FAILED``.
That check needs no extra privilege and is exact: the lock goes when the backend goes.

Every wait is bounded (``RunLimits``: lock and statement timeouts, applied per transaction)
and a timeout ends the run ``FAILED`` with the reason. When the run's connection dies
(server restart, network, ``pg_terminate_backend``) the outcome is settled through a fresh
connection: the old backend is ended if it still lives, so that its transaction can no
longer commit, and the header is then read back. If the facts' COMMIT reached the server
before the connection died the run is ``SUCCEEDED`` and is reported as such; otherwise it
is marked ``FAILED``. If the server cannot be reached to find out, a run that died in its
COMMIT raises ``ReportOutcomeUnknownError``; an ``OperationalError`` escapes only from runs
that certainly did not commit, so retrying on it never duplicates a run. Facts are never
visible without ``SUCCEEDED``: both are written by the same transaction.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg.types.json import Jsonb

from orchestration.reports.facts_settings import FACTS_SETTINGS, apply_local_settings
from orchestration.reports.parameters import ReportParameters, RunLimits
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
# A backend whose client died notices it only when it next talks to the client; with this
# check it notices within a second even in the middle of a long statement or a lock wait,
# so that a killed run's lock is released, and its stale header recoverable, promptly.
CLIENT_CHECK_INTERVAL_MS: Final = 1_000
# Settling a run after its connection died: how long to wait for a new connection, and for
# the old backend to end.
SETTLE_CONNECT_TIMEOUT_S: Final = 10
# A restarting server refuses connections for a few seconds: keep trying this long.
# (Not Final: a test shortens it to exercise an unreachable server.)
SETTLE_RETRY_S = 15.0
SETTLE_RETRY_PAUSE_S: Final = 0.5
SETTLE_TERMINATE_WAIT_MS: Final = 5_000
SETTLE_LOCK_TIMEOUT_MS: Final = 30_000


class ReportRunError(RuntimeError):
    """A run that could not complete for a reason of the run itself, not of its inputs."""


class ReportOutcomeUnknownError(ReportRunError):
    """The connection died while the run's facts were being committed, and the database
    could not be reached again to find out whether the COMMIT got there.

    Deliberately not a ``psycopg.OperationalError``: retrying on it could duplicate a run
    that did succeed. ``run_id`` is the run to look up (``report_run.status``) once the
    database is back; recovery settles it if it did not commit.
    """

    def __init__(self, run_id: uuid.UUID, cause: BaseException) -> None:
        super().__init__(
            f"run {run_id}: the connection died while committing ({cause}) and the database"
            " could not be reached again: the run may have SUCCEEDED; check"
            " dyno_crm.report_run before running it again"
        )
        self.run_id = run_id


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


@dataclass(frozen=True)
class StaleRun:
    """A run that recovery marked ``FAILED``: what it was and how long it had been open."""

    run_id: uuid.UUID
    tenant_id: uuid.UUID
    report_type: str
    generated_at: datetime
    age: timedelta


@dataclass(frozen=True)
class _Session:
    """What is needed to reach the server again, and to recognise the run's own backend,
    after the run's connection died (``conn.info`` is unusable by then)."""

    conninfo: dict[str, Any]
    backend_pid: int
    backend_start: datetime | None


def ensure_fact_count_column(conn: psycopg.Connection[Any]) -> None:
    """Add ``report_run.fact_count`` if missing (idempotent, one transaction).

    Checked first rather than ``add column if not exists``: ALTER TABLE takes an exclusive
    lock even when it does nothing, and would queue behind (and block) running reports.
    """
    with conn.transaction():
        present = conn.execute(
            "select 1 from information_schema.columns"
            " where table_schema = 'dyno_crm' and table_name = 'report_run'"
            " and column_name = 'fact_count'"
        ).fetchone()
        if present is None:
            conn.execute(load_sql("report_run_fact_count.sql"))


def recover_stale_runs(conn: psycopg.Connection[Any]) -> list[uuid.UUID]:
    """Mark ``FAILED`` every ``IN_PROGRESS`` run whose owning session is gone.

    Runs in its own transaction; returns the ids of the runs it marked.
    """
    return [run.run_id for run in recover_stale_run_details(conn)]


def recover_stale_run_details(
    conn: psycopg.Connection[Any], limits: RunLimits | None = None
) -> list[StaleRun]:
    """``recover_stale_runs``, returning each recovered run's tenant, report type and age.

    For ``dyno-reports runs --recover`` and the Dagster daemon. Bounded by ``limits``'
    lock and statement timeouts (the defaults when not given).
    """
    _require_idle(conn)
    with _storage_required(), conn.transaction():
        _apply_limits(conn, limits or RunLimits())
        return _mark_stale_runs_failed(conn)


def _mark_stale_runs_failed(conn: psycopg.Connection[Any]) -> list[StaleRun]:
    """``recover_stale_run_details`` inside the caller's transaction."""
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
            " returning runs.run_id, runs.tenant_id, runs.report_type, runs.generated_at,"
            " now() - runs.generated_at"
        ).format(key=lock_key_sql("candidates", "run_id")),
        (STALE_RUN_MESSAGE, LOCK_NAMESPACE),
    ).fetchall()
    recovered = [StaleRun(*row) for row in rows]
    for run in recovered:
        logger.warning(
            "marked stale %s run %s of tenant %s FAILED (open for %s)",
            run.report_type,
            run.run_id,
            run.tenant_id,
            run.age,
        )
    return recovered


def execute_report(
    conn: psycopg.Connection[Any],
    params: ReportParameters,
    limits: RunLimits | None = None,
) -> uuid.UUID:
    """Run one report for validated ``params`` and return its run id."""
    limits = limits or RunLimits()
    _require_idle(conn)
    run_id = uuid.uuid4()
    lock_key = run_lock_key(run_id)
    conninfo = _conninfo(conn)
    session: _Session | None = None
    header_written = committing = False
    try:
        with _storage_required(), _timeouts_explained(limits), conn.transaction():
            _apply_limits(conn, limits)
            # Recovery shares the header's transaction (fewer round trips): a failure in
            # either leaves nothing written, as when they committed apart.
            _mark_stale_runs_failed(conn)
            generated_at, session = _lock_and_start_session(conn, conninfo, lock_key)
            _insert_header(conn, run_id, params, generated_at)
        header_written = True
        with _timeouts_explained(limits), conn.transaction():
            # The bounds and the facts statement's settings in one round trip.
            apply_local_settings(
                conn, {**_limit_settings(limits), **facts_statement_settings(conn)}
            )
            fact_count = _write_facts(conn, run_id, params, generated_at)
            finished = conn.execute(
                "update dyno_crm.report_run set status = 'SUCCEEDED', fact_count = %s"
                " where run_id = %s and status = 'IN_PROGRESS'",
                (fact_count, run_id),
            )
            if finished.rowcount != 1:
                raise ReportRunError(
                    f"run {run_id} is no longer IN_PROGRESS (recovered as stale while it ran)"
                )
            # Nothing but the COMMIT is left: an error from here on may hide a success.
            committing = True
    except BaseException as error:
        if session is None or not header_written:
            raise
        status = _settle_failed_run(conn, session, run_id, error)
        if status == "SUCCEEDED":
            logger.warning(
                "run %s: the connection died while committing, but the commit had reached"
                " the server: the run SUCCEEDED",
                run_id,
            )
            return run_id
        if status is None and committing:
            raise ReportOutcomeUnknownError(run_id, error) from error
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


def _conninfo(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Keywords reaching the same server as the same user, for a fresh connection.

    ``get_parameters`` leaves out the password, so it is added back when there is one.
    """
    params: dict[str, Any] = dict(conn.info.get_parameters())
    password = conn.info.password
    if password:
        params["password"] = password
    return params


def _limit_settings(limits: RunLimits) -> dict[str, str]:
    return {
        "lock_timeout": str(limits.lock_timeout_ms),
        "statement_timeout": str(limits.statement_timeout_ms),
        "idle_in_transaction_session_timeout": str(limits.statement_timeout_ms),
        "client_connection_check_interval": str(CLIENT_CHECK_INTERVAL_MS),
    }


def _apply_limits(conn: psycopg.Connection[Any], limits: RunLimits) -> None:
    """The run's bounds, for the current transaction only (``set_config(..., true)``)."""
    apply_local_settings(conn, _limit_settings(limits))


@contextmanager
def _timeouts_explained(limits: RunLimits) -> Iterator[None]:
    """A timeout becomes a ``ReportRunError`` naming the limit that was hit."""
    try:
        yield
    except psycopg.errors.LockNotAvailable as error:
        raise ReportRunError(
            f"timed out waiting for a lock after lock_timeout_ms={limits.lock_timeout_ms}"
            f" ({error.diag.message_primary})"
        ) from error
    except psycopg.errors.QueryCanceled as error:
        raise ReportRunError(
            f"a statement was cancelled (statement_timeout_ms={limits.statement_timeout_ms}):"
            f" {error.diag.message_primary}"
        ) from error


def _lock_and_start_session(
    conn: psycopg.Connection[Any], conninfo: dict[str, Any], lock_key: int
) -> tuple[datetime, _Session]:
    """Take the run's lock (waiting at most ``lock_timeout``); return the run's start time
    (the transaction's) and what identifies this backend. One round trip for both."""
    row = conn.execute(
        "select pg_advisory_lock(%s, %s), now(), pg_backend_pid(),"
        " (select backend_start from pg_stat_activity where pid = pg_backend_pid())",
        (LOCK_NAMESPACE, lock_key),
    ).fetchone()
    assert row is not None
    return row[1], _Session(conninfo=conninfo, backend_pid=row[2], backend_start=row[3])


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


def facts_statement_settings(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """The facts statement's transaction settings: the models' schema, then ``FACTS_SETTINGS``."""
    return {"search_path": sql.Identifier(MODELS_SCHEMA).as_string(conn), **FACTS_SETTINGS}


def _write_facts(
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
        inserted = conn.execute(load_sql(params.facts_sql), query_params, prepare=False)
    except psycopg.errors.UndefinedTable as error:
        raise ReportRunError(
            f"the dbt models are not built in schema {MODELS_SCHEMA!r} of this database "
            f"({error.diag.message_primary}); run `dyno-reports build` first"
        ) from error
    return inserted.rowcount


def _failure_message(error: BaseException) -> str:
    message = f"{type(error).__name__}: {error}".replace("\x00", "\\0")
    return message[:MAX_ERROR_MESSAGE_CHARS]


_MARK_FAILED: Final = (
    "update dyno_crm.report_run set status = 'FAILED', error_message = %s"
    " where run_id = %s and status = 'IN_PROGRESS'"
)


def _settle_failed_run(
    conn: psycopg.Connection[Any], session: _Session, run_id: uuid.UUID, error: BaseException
) -> str | None:
    """Mark the run ``FAILED`` unless it committed; return its final status if known."""
    message = _failure_message(error)
    if not conn.closed and not conn.broken:
        try:
            with conn.transaction():
                conn.execute(_MARK_FAILED, (message, run_id))
            return "FAILED"
        except psycopg.Error:
            logger.warning("could not mark run %s FAILED on its connection", run_id)
    try:
        return _settle_on_fresh_connection(session, run_id, message)
    except psycopg.Error as settle_error:
        # The header stays IN_PROGRESS, but its lock died with the old backend (or dies
        # with it): the next recovery marks it FAILED.
        logger.warning(
            "could not settle run %s (%s); recover_stale_runs will mark it FAILED",
            run_id,
            settle_error,
        )
        return None


def _settle_on_fresh_connection(session: _Session, run_id: uuid.UUID, message: str) -> str | None:
    """The run's connection is gone (server restart, network, terminated backend).

    Whether its facts' COMMIT reached the server is unknown to the client. The old backend
    is ended first (if it still lives, matched by pid and start time so that a reused pid
    is never hit): after that, the header says the truth, and an ``IN_PROGRESS`` one can
    only be a run that did not commit.
    """
    with _reconnect(session) as fresh:
        fresh.execute(
            "select set_config('lock_timeout', %s, false)", (str(SETTLE_LOCK_TIMEOUT_MS),)
        )
        if session.backend_start is not None:
            fresh.execute(
                "select pg_terminate_backend(pid, %s) from pg_stat_activity"
                " where pid = %s and backend_start = %s",
                (SETTLE_TERMINATE_WAIT_MS, session.backend_pid, session.backend_start),
            )
        fresh.execute(_MARK_FAILED, (message, run_id))
        row = fresh.execute(
            "select status from dyno_crm.report_run where run_id = %s", (run_id,)
        ).fetchone()
    return None if row is None else str(row[0])


def _reconnect(session: _Session) -> psycopg.Connection[Any]:
    """A new connection like the run's, retried while the server restarts."""
    deadline = time.monotonic() + SETTLE_RETRY_S
    while True:
        try:
            return psycopg.connect(
                **session.conninfo, connect_timeout=SETTLE_CONNECT_TIMEOUT_S, autocommit=True
            )
        except psycopg.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(SETTLE_RETRY_PAUSE_S)


def _release_lock(conn: psycopg.Connection[Any], lock_key: int) -> None:
    if conn.closed or conn.broken:
        return  # the server released it with the session
    try:
        with conn.transaction():
            conn.execute("select pg_advisory_unlock(%s, %s)", (LOCK_NAMESPACE, lock_key))
    except psycopg.Error:
        # The session died after the run's outcome was written: the lock went with it.
        logger.info("run lock %s not released: its session is gone, and the lock with it", lock_key)
