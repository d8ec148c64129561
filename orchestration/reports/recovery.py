"""Stale-run recovery: ``IN_PROGRESS`` headers whose process died are marked ``FAILED``.

A header whose run lock (``run_lock``) nobody holds has no live owner. Recovery runs in
its own transaction (``recover_stale_runs``) and inside each run's header transaction.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import psycopg
from psycopg import sql

from orchestration.reports.parameters import RunLimits
from orchestration.reports.run_bounds import apply_limits, require_idle, storage_required
from orchestration.reports.run_lock import LOCK_NAMESPACE, lock_key_sql

logger = logging.getLogger(__name__)

STALE_RUN_MESSAGE: Final = (
    "stale run: the process running this report ended before finishing "
    "(its session's run lock was free); marked FAILED by recovery"
)


@dataclass(frozen=True)
class StaleRun:
    """A run that recovery marked ``FAILED``: what it was and how long it had been open."""

    run_id: uuid.UUID
    tenant_id: uuid.UUID
    report_type: str
    generated_at: datetime
    age: timedelta


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
    require_idle(conn)
    with storage_required(), conn.transaction():
        apply_limits(conn, limits or RunLimits())
        return mark_stale_runs_failed(conn)


def mark_stale_runs_failed(conn: psycopg.Connection[Any]) -> list[StaleRun]:
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
