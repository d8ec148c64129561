"""Running one report and reading back what it stored: the code the CLI, Dagster and demo share."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from orchestration.reports.errors import ReportRunError
from orchestration.reports.lifecycle import execute_report
from orchestration.reports.parameters import ReportParameters, RunLimits
from orchestration.reports.stored_runs import Row, run_facts, run_header


@dataclass(frozen=True)
class ReportResult:
    """A stored run: its ``report_run`` header and its fact rows (with names)."""

    header: Row
    facts: list[Row]

    @property
    def run_id(self) -> uuid.UUID:
        run_id: uuid.UUID = self.header["run_id"]
        return run_id

    @property
    def report_type(self) -> str:
        report_type: str = self.header["report_type"]
        return report_type


class StoredRunUnreadableError(ReportRunError):
    """The run SUCCEEDED and is stored, but reading it back failed: running it again would
    store it twice. ``run_id`` is the stored run."""

    def __init__(self, run_id: uuid.UUID, cause: BaseException) -> None:
        super().__init__(
            f"run {run_id} SUCCEEDED and is stored, but reading it back failed"
            f" ({type(cause).__name__}: {cause}); do not run it again:"
            f" `dyno-reports show {run_id}` prints it"
        )
        self.run_id = run_id


def load_result(
    conn: psycopg.Connection[Any], run_id: uuid.UUID, limits: RunLimits | None = None
) -> ReportResult | None:
    """The stored run ``run_id``, or None when there is no such run; read within ``limits``
    when given (else the session's own timeouts)."""
    header = run_header(conn, run_id, limits)
    if header is None:
        return None
    return ReportResult(header=header, facts=run_facts(conn, header["report_type"], run_id, limits))


def run_report(
    conn: psycopg.Connection[Any],
    params: ReportParameters,
    limits: RunLimits | None = None,
    request_id: uuid.UUID | None = None,
) -> ReportResult:
    """Run the report ``params`` describe through the Python API; return the stored run.

    The run is read back within the run's own limits, not the session's (a role-level
    ``statement_timeout`` must not turn a stored success into a reported failure); if the
    read still fails, ``StoredRunUnreadableError`` says that the run is stored.
    """
    # ``params`` are validated already: go straight to the run, not through the public
    # functions that would unpack and validate them again.
    limits = limits or RunLimits()
    run_id = execute_report(conn, params, limits, request_id)
    try:
        result = load_result(conn, run_id, limits)
    except psycopg.Error as error:
        raise StoredRunUnreadableError(run_id, error) from error
    assert result is not None, f"run {run_id} vanished after it was written"
    return result
