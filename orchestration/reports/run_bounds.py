"""Every wait of a run is bounded, and every bound that is hit says which one it was."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import psycopg
from psycopg.pq import TransactionStatus

from orchestration.reports.errors import ReportRunError
from orchestration.reports.facts_statement import apply_local_settings
from orchestration.reports.parameters import RunLimits

# A backend whose client died notices it only when it next talks to the client; with this
# check it notices within a second even in the middle of a long statement or a lock wait,
# so that a killed run's lock is released, and its stale header recoverable, promptly.
CLIENT_CHECK_INTERVAL_MS: Final = 1_000


def limit_settings(limits: RunLimits) -> dict[str, str]:
    """The run's bounds as transaction settings."""
    return {
        "lock_timeout": str(limits.lock_timeout_ms),
        "statement_timeout": str(limits.statement_timeout_ms),
        "idle_in_transaction_session_timeout": str(limits.statement_timeout_ms),
        "client_connection_check_interval": str(CLIENT_CHECK_INTERVAL_MS),
    }


def apply_limits(conn: psycopg.Connection[Any], limits: RunLimits) -> None:
    """The run's bounds, for the current transaction only (``set_config(..., true)``)."""
    apply_local_settings(conn, limit_settings(limits))


@contextmanager
def timeouts_explained(limits: RunLimits) -> Iterator[None]:
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


def require_idle(conn: psycopg.Connection[Any]) -> None:
    """Runs commit their own transactions: a caller's open one would be committed with them."""
    status = conn.info.transaction_status
    if status != TransactionStatus.IDLE:
        raise ReportRunError(
            "the connection has an open transaction (status "
            f"{status.name}); commit or roll it back before running a report"
        )


@contextmanager
def storage_required() -> Iterator[None]:
    """A missing ``report_run`` becomes a ``ReportRunError`` saying to build first."""
    try:
        yield
    except psycopg.errors.UndefinedTable as error:
        raise ReportRunError(
            "the report storage tables are missing from this database "
            f"({error.diag.message_primary}); run `dyno-reports build` first"
        ) from error
