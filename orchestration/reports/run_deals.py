"""The deals behind a stored run's numbers (``store_deals``): read back page by page, so
that listing a big tenant's 260k open deals holds one page in memory, not all of them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from orchestration.reports.errors import ReportRunError
from orchestration.reports.facts_statement import apply_local_settings
from orchestration.reports.parameters import ReportInputError
from orchestration.reports.stored_runs import Row
from orchestration.settings import MODELS_SCHEMA
from orchestration.sql_files import read_sql

_SQL_DIR: Final = Path(__file__).resolve().parent / "sql"
DEALS_SQL: Final = {"deal_win_loss": "win_loss_deals.sql", "deal_aging": "aging_deals.sql"}
PAGE_ROWS: Final = 2_000


def deals_unavailable(header: Row) -> str | None:
    """Why a run has no deals to show, or None when it stored them."""
    if header["status"] != "SUCCEEDED":
        return f"run {header['run_id']} is {header['status']}: only a SUCCEEDED run has deals"
    if header.get("deals_pruned_at") is not None:
        return (
            f"the deals of run {header['run_id']} were deleted by retention at"
            f" {header['deals_pruned_at'].isoformat()} (its header and facts are kept)"
        )
    if header.get("deal_count") is None:
        return (
            f"run {header['run_id']} stored no deals (it ran with store_deals false, or before"
            " runs kept their deals)"
        )
    return None


def iter_run_deals(
    conn: psycopg.Connection[Any],
    header: Row,
    *,
    pipeline_id: uuid.UUID | None = None,
    stage_id: uuid.UUID | None = None,
    at_risk: bool = False,
    limit: int | None = None,
) -> Iterator[Row]:
    """The run's deals (``header`` from ``run_header``), filtered; win/loss in closing order
    (``stage_id``: the first stage), aging longest in stage first. Raises
    ``ReportRunError`` when the run has none to show, ``ReportInputError`` for ``at_risk``
    on a win/loss run."""
    reason = deals_unavailable(header)
    if reason is not None:
        raise ReportRunError(reason)
    report_type = header["report_type"]
    if at_risk and report_type != "deal_aging":
        raise ReportInputError("at_risk", "applies to aging runs only (win/loss deals are closed)")
    query = read_sql(_SQL_DIR, DEALS_SQL[report_type])
    params = {
        "run_id": header["run_id"],
        "pipeline_id": pipeline_id,
        "stage_id": stage_id,
        "at_risk": at_risk,
        "row_limit": limit,
    }
    return _paged(conn, query, params)


def _paged(conn: psycopg.Connection[Any], query: str, params: dict[str, Any]) -> Iterator[Row]:
    # A named (server-side) cursor needs a transaction; rows arrive PAGE_ROWS at a time.
    with conn.transaction(), conn.cursor(name="run_deals", row_factory=dict_row) as cursor:
        # the names come from the staging views, in the models' schema
        apply_local_settings(conn, {"search_path": sql.Identifier(MODELS_SCHEMA).as_string(conn)})
        cursor.itersize = PAGE_ROWS
        cursor.execute(query, params)
        yield from cursor
