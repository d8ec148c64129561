"""Settling a run whose connection died: ``SUCCEEDED`` if its COMMIT got there, else ``FAILED``.

When the run's connection dies (server restart, network, ``pg_terminate_backend``) the
outcome is settled through a fresh connection: the old backend is ended if it still lives,
so that its transaction can no longer commit, and the header is then read back.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import psycopg

from orchestration.reports.errors import failure_message

logger = logging.getLogger(__name__)

# How long to wait for a new connection, and for the old backend to end.
SETTLE_CONNECT_TIMEOUT_S: Final = 10
# A restarting server refuses connections for a few seconds: keep trying this long.
# (Not Final: a test shortens it to exercise an unreachable server.)
SETTLE_RETRY_S = 15.0
SETTLE_RETRY_PAUSE_S: Final = 0.5
SETTLE_TERMINATE_WAIT_MS: Final = 5_000
SETTLE_LOCK_TIMEOUT_MS: Final = 30_000

_MARK_FAILED: Final = (
    "update dyno_crm.report_run set status = 'FAILED', error_message = %s"
    " where run_id = %s and status = 'IN_PROGRESS'"
)


@dataclass(frozen=True)
class RunSession:
    """What is needed to reach the server again, and to recognise the run's own backend,
    after the run's connection died (``conn.info`` is unusable by then)."""

    conninfo: dict[str, Any]
    backend_pid: int
    backend_start: datetime | None


def conninfo_of(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Keywords reaching the same server as the same user, for a fresh connection.

    ``get_parameters`` leaves out the password, so it is added back when there is one.
    """
    params: dict[str, Any] = dict(conn.info.get_parameters())
    password = conn.info.password
    if password:
        params["password"] = password
    return params


def settle_failed_run(
    conn: psycopg.Connection[Any], session: RunSession, run_id: uuid.UUID, error: BaseException
) -> str | None:
    """Mark the run ``FAILED`` unless it committed; return its final status if known."""
    message = failure_message(error)
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


def _settle_on_fresh_connection(session: RunSession, run_id: uuid.UUID, message: str) -> str | None:
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


def _reconnect(session: RunSession) -> psycopg.Connection[Any]:
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
