"""The life of one report run: header, facts, outcome.

1. The ``IN_PROGRESS`` header is committed before the facts are computed (together with
   the recovery of stale runs), so an audit trail exists even if everything after it fails.
2. The fact rows and ``SUCCEEDED`` are committed in one transaction: a run's facts are all
   there or not at all.
3. Any error after the header rolls the facts back, marks the run ``FAILED`` with the
   message, and re-raises.

While a run is open its connection holds a session-level advisory lock derived from the
run id (``run_lock``, taken before the header is written). A header still ``IN_PROGRESS``
whose lock nobody holds belongs to a process that died; ``recover_stale_runs`` marks it
``FAILED``.

Every wait is bounded (``RunLimits``: lock and statement timeouts, applied per transaction,
``run_bounds``) and a timeout ends the run ``FAILED`` with the reason. When the run's
connection dies the outcome is settled through a fresh connection (``settlement``): if the
facts' COMMIT reached the server before the connection died the run is ``SUCCEEDED`` and is
reported as such; otherwise it is marked ``FAILED``. If the server cannot be reached to find
out, a run that died in its COMMIT raises ``ReportOutcomeUnknownError``; an
``OperationalError`` escapes only from runs that certainly did not commit, so retrying on it
never duplicates a run. Facts are never visible without ``SUCCEEDED``: both are written by
the same transaction.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import psycopg
from psycopg.types.json import Jsonb

from orchestration.reports.errors import ReportOutcomeUnknownError, ReportRunError
from orchestration.reports.facts_statement import (
    apply_local_settings,
    facts_statement_settings,
    finish_run,
    write_facts,
)
from orchestration.reports.parameters import ReportParameters, RunLimits
from orchestration.reports.recovery import mark_stale_runs_failed
from orchestration.reports.requests import is_request_conflict, stored_run_of_request
from orchestration.reports.run_bounds import (
    apply_limits,
    limit_settings,
    require_idle,
    storage_required,
    timeouts_explained,
)
from orchestration.reports.run_lock import LOCK_NAMESPACE, release_run_lock, run_lock_key
from orchestration.reports.settlement import RunSession, conninfo_of, settle_failed_run
from orchestration.reports.stage_thresholds import check_stage_thresholds

logger = logging.getLogger(__name__)


# A deadlock or serialization failure of the facts transaction (another session took locks
# against the documented order) rolls it back whole: it is run again, this often at most;
# the header transaction likewise.
FACTS_ATTEMPTS: Final = 3
HEADER_ATTEMPTS: Final = 3
_RETRIED: Final = (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure)
FACTS_RETRY_PAUSE_S: Final = 0.1
# A concurrent first call of the same request can win the header insert this many times in
# a row (each time it then failed) before this call gives up.
_REQUEST_ATTEMPTS: Final = 3


def execute_report(
    conn: psycopg.Connection[Any],
    params: ReportParameters,
    limits: RunLimits | None = None,
    request_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Run one report for validated ``params`` and return its run id.

    With ``request_id``, a request that already SUCCEEDED returns its stored run instead
    (``requests``).
    """
    limits = limits or RunLimits()
    for _ in range(_REQUEST_ATTEMPTS - 1):
        try:
            return _execute_once(conn, params, limits, request_id)
        except psycopg.errors.UniqueViolation as error:
            if not is_request_conflict(error):
                raise
            logger.info("request %s: a concurrent call stored it first; looking again", request_id)
    return _execute_once(conn, params, limits, request_id)


def _execute_once(
    conn: psycopg.Connection[Any],
    params: ReportParameters,
    limits: RunLimits,
    request_id: uuid.UUID | None,
) -> uuid.UUID:
    require_idle(conn)
    run_id = uuid.uuid4()
    lock_key = run_lock_key(run_id)
    started = _start_run(conn, params, limits, request_id, run_id, lock_key)
    if isinstance(started, uuid.UUID):
        return started  # the request's run that SUCCEEDED
    committing = False
    try:
        for attempt in range(1, FACTS_ATTEMPTS + 1):
            try:
                with timeouts_explained(limits), conn.transaction():
                    # The bounds and the facts statement's settings in one round trip.
                    apply_local_settings(
                        conn, {**limit_settings(limits), **facts_statement_settings(conn)}
                    )
                    written = write_facts(conn, run_id, params, started.generated_at)
                    if finish_run(conn, run_id, written) != 1:
                        raise ReportRunError(
                            f"run {run_id} is no longer IN_PROGRESS"
                            " (recovered as stale while it ran)"
                        )
                    # Nothing but the COMMIT is left: an error from here on may hide a success.
                    committing = True
                break
            except _RETRIED as error:
                # The facts transaction rolled back whole; the header and the run lock stand.
                _before_retry(run_id, "facts", error, attempt, FACTS_ATTEMPTS)
    except BaseException as error:
        status = settle_failed_run(conn, started.session, run_id, error)
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
        release_run_lock(conn, lock_key)
    return run_id


@dataclass(frozen=True)
class _Started:
    """A run whose IN_PROGRESS header is committed, its run lock held by ``session``."""

    generated_at: datetime
    session: RunSession


def _start_run(
    conn: psycopg.Connection[Any],
    params: ReportParameters,
    limits: RunLimits,
    request_id: uuid.UUID | None,
    run_id: uuid.UUID,
    lock_key: int,
) -> _Started | uuid.UUID:
    """The header transaction (with recovery and the request's lookup): the started run, or
    the request's run that SUCCEEDED. A deadlock or serialization failure runs it again."""
    conninfo = conninfo_of(conn)
    for attempt in range(1, HEADER_ATTEMPTS + 1):
        locked = False
        try:
            with storage_required(), timeouts_explained(limits), conn.transaction():
                apply_limits(conn, limits)
                # Recovery shares the header's transaction (fewer round trips): a failure in
                # either leaves nothing written, as when they committed apart.
                mark_stale_runs_failed(conn)
                if request_id is not None:
                    stored = stored_run_of_request(conn, request_id, params)
                    if stored is not None:
                        return stored
                check_stage_thresholds(conn, params)
                generated_at, session = _lock_and_start_session(conn, conninfo, lock_key)
                locked = True
                _insert_header(conn, run_id, params, generated_at, request_id)
            return _Started(generated_at=generated_at, session=session)
        except BaseException as error:
            # Nothing was written; the run lock is a session lock, which the rollback kept:
            # give it back (a next attempt then takes it once, not twice).
            if locked:
                release_run_lock(conn, lock_key)
            if not isinstance(error, _RETRIED):
                raise
            _before_retry(run_id, "header", error, attempt, HEADER_ATTEMPTS)
    raise AssertionError("unreachable: the last attempt returns or raises")


def _before_retry(
    run_id: uuid.UUID, what: str, error: psycopg.Error, attempt: int, attempts: int
) -> None:
    """Raise ``error`` after the last attempt; else log it and pause before the next."""
    if attempt == attempts:
        raise error
    logger.warning(
        "run %s: %s; its %s transaction runs again (attempt %d of %d)",
        run_id,
        error.diag.message_primary,
        what,
        attempt + 1,
        attempts,
    )
    time.sleep(FACTS_RETRY_PAUSE_S * attempt)


def _lock_and_start_session(
    conn: psycopg.Connection[Any], conninfo: dict[str, Any], lock_key: int
) -> tuple[datetime, RunSession]:
    """Take the run's lock (waiting at most ``lock_timeout``); return the run's start time
    (the transaction's) and what identifies this backend. One round trip for both."""
    row = conn.execute(
        "select pg_advisory_lock(%s, %s), now(), pg_backend_pid(),"
        " (select backend_start from pg_stat_activity where pid = pg_backend_pid())",
        (LOCK_NAMESPACE, lock_key),
    ).fetchone()
    assert row is not None
    return row[1], RunSession(conninfo=conninfo, backend_pid=row[2], backend_start=row[3])


def _insert_header(
    conn: psycopg.Connection[Any],
    run_id: uuid.UUID,
    params: ReportParameters,
    generated_at: datetime,
    request_id: uuid.UUID | None,
) -> None:
    conn.execute(
        "insert into dyno_crm.report_run"
        " (run_id, tenant_id, report_type, generated_at, period_start, period_end,"
        " input_params, status, request_id)"
        " values (%s, %s, %s, %s, %s, %s, %s, 'IN_PROGRESS', %s)",
        (
            run_id,
            params.tenant_id,
            params.report_type,
            generated_at,
            params.period_start,
            params.period_end,
            Jsonb(params.input_params(generated_at)),
            request_id,
        ),
    )
