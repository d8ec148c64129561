"""Running one report and reading back what it stored: the code the CLI, Dagster and demo share."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

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


def load_result(conn: psycopg.Connection[Any], run_id: uuid.UUID) -> ReportResult | None:
    """The stored run ``run_id``, or None when there is no such run."""
    header = run_header(conn, run_id)
    if header is None:
        return None
    return ReportResult(header=header, facts=run_facts(conn, header["report_type"], run_id))


def run_report(
    conn: psycopg.Connection[Any], params: ReportParameters, limits: RunLimits | None = None
) -> ReportResult:
    """Run the report ``params`` describe through the Python API; return the stored run."""
    # ``params`` are validated already: go straight to the run, not through the public
    # functions that would unpack and validate them again.
    run_id = execute_report(conn, params, limits)
    result = load_result(conn, run_id)
    assert result is not None, f"run {run_id} vanished after it was written"
    return result
