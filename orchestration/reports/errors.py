"""How a report run fails: the errors it raises, the message it stores, what is worth a retry."""

from __future__ import annotations

import uuid
from typing import Final

import psycopg

MAX_ERROR_MESSAGE_CHARS: Final = 10_000


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


def failure_message(error: BaseException) -> str:
    """The ``error_message`` stored for a run that failed with ``error``."""
    message = f"{type(error).__name__}: {error}".replace("\x00", "\\0")
    return message[:MAX_ERROR_MESSAGE_CHARS]


def is_transient(error: BaseException) -> bool:
    """A lost or refused connection, worth running again; not a timeout or a lock wait.

    psycopg files statement timeouts and lock timeouts under ``OperationalError`` too, but
    running them again would only hit the same bound.
    """
    return isinstance(error, psycopg.OperationalError) and not isinstance(
        error, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable
    )
