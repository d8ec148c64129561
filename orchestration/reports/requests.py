"""Exactly once per request: a caller's ``request_id`` names one report request, and a
second call with it never stores a second run.

- a ``SUCCEEDED`` run of the request: returned as it is, nothing run;
- a ``FAILED`` one (or none): run (again);
- one ``IN_PROGRESS`` in a live session: refused with ``RequestInProgressError`` (a dead
  session's run was marked ``FAILED`` by recovery just before, so it runs again);
- the same id with another tenant, report or parameters: ``ReportInputError`` naming
  ``request_id``.

The unique index ``ux_report_run_request`` (live and successful runs only) keeps two
concurrent first calls from both storing a run: the second one's header insert waits for
the first's and fails, and the request is then looked up again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Final

import psycopg

from orchestration.reports.errors import ReportRunError
from orchestration.reports.parameters import ReportInputError, ReportParameters

REQUEST_INDEX: Final = "ux_report_run_request"
# input_params of an aging run without period_end carry its own start as "as_of": not part
# of what was asked for, so not compared.
_RUN_TIME_KEYS: Final = frozenset({"as_of"})


class RequestInProgressError(ReportRunError):
    """The request is being run right now by a live session; call again when it ended."""

    def __init__(self, request_id: uuid.UUID, run_id: uuid.UUID) -> None:
        super().__init__(
            f"request {request_id} is already running as run {run_id} (IN_PROGRESS in a live"
            " session); wait for it to end, then call again with the same request_id"
        )
        self.request_id = request_id
        self.run_id = run_id


def _asked(input_params: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in input_params.items() if key not in _RUN_TIME_KEYS}


def stored_run_of_request(
    conn: psycopg.Connection[Any], request_id: uuid.UUID, params: ReportParameters
) -> uuid.UUID | None:
    """The ``SUCCEEDED`` run of ``request_id``, or None when it must run (inside the caller's
    transaction, after recovery). Raises for a live run or another parameter set."""
    row = conn.execute(
        "select run_id, status, tenant_id, report_type, input_params from dyno_crm.report_run"
        " where request_id = %s and status in ('IN_PROGRESS', 'SUCCEEDED')",
        (request_id,),
    ).fetchone()
    if row is None:
        return None
    run_id, status, tenant_id, report_type, stored = row
    asked = _asked(params.input_params(datetime.now(UTC)))
    if (tenant_id, report_type) != (params.tenant_id, params.report_type) or _asked(
        stored or {}
    ) != asked:
        raise ReportInputError(
            "request_id",
            f"{request_id} was used for another report or other parameters (run {run_id});"
            " a new request needs a new id",
        )
    if status == "IN_PROGRESS":
        raise RequestInProgressError(request_id, run_id)
    return uuid.UUID(str(run_id))


def is_request_conflict(error: BaseException) -> bool:
    """A concurrent first call of the same request stored its header first."""
    return (
        isinstance(error, psycopg.errors.UniqueViolation)
        and error.diag.constraint_name == REQUEST_INDEX
    )
