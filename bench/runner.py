"""Running one benchmark case: the API call, its floor, the seeds' SQL, the checks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import psycopg

from bench.cases import Case
from bench.checks import compare, project_rows, run_seed_sql
from bench.data import load_sql
from bench.measure import Timing, peak_rss_mib, python_peak_kib, time_interleaved
from bench.seeds import time_seed_sql
from orchestration.reports import run_deal_aging_report, run_deal_win_loss_report
from orchestration.reports.facts_statement import apply_local_settings

FLOOR_SQL = {"win_loss": "floor_win_loss.sql", "aging": "floor_aging.sql"}


@dataclass(frozen=True)
class CaseResult:
    case: Case
    project: Timing
    floor: Timing
    rows_read: int
    seeds: Timing | None
    check: str
    python_peak_kib: float
    peak_rss_mib: float


def call_report(conn: psycopg.Connection[Any], case: Case) -> uuid.UUID:
    """One whole API call: validation, header, facts, commits."""
    if case.report == "win_loss":
        return run_deal_win_loss_report(conn, **case.params)
    return run_deal_aging_report(conn, **case.params)


# The floor reads the report's rows the way the report does: through an index, serially
# (an INSERT ... SELECT gets no parallel workers), never as a sequential scan.
FLOOR_SETTINGS = {
    "enable_seqscan": "off",
    "enable_bitmapscan": "off",
    "max_parallel_workers_per_gather": "0",
}


def create_floor_index(conn: psycopg.Connection[Any]) -> None:
    """The aging floor's index (``bench/sql/floor_aging_index.sql``), after a dbt run."""
    with conn.transaction():
        conn.execute(load_sql("floor_aging_index.sql"))


def apply_floor_settings(conn: psycopg.Connection[Any]) -> None:
    apply_local_settings(conn, FLOOR_SETTINGS)


def count_floor(conn: psycopg.Connection[Any], case: Case) -> int:
    apply_floor_settings(conn)
    # Unprepared like the facts statement, so that both get a plan for the actual values.
    row = conn.execute(
        load_sql(FLOOR_SQL[case.report]), case.floor_params(), prepare=False
    ).fetchone()
    conn.rollback()
    assert row is not None
    return int(row[0])


def run_case(
    conn: psycopg.Connection[Any],
    case: Case,
    *,
    repeat: int,
    seed_limit_s: float | None,
) -> CaseResult:
    """Time the case, then check its last run's facts against the seeds' SQL."""
    project, floor = time_interleaved(
        [lambda: call_report(conn, case), lambda: count_floor(conn, case)], repeat
    )
    rows_read = count_floor(conn, case)
    seeds = None
    check = "not run"
    if seed_limit_s is not None:
        seeds = time_seed_sql(conn, case, seed_limit_s, repeat)
        if not seeds.timed_out:
            run_id = call_report(conn, case)
            expected = run_seed_sql(conn, case, int(seed_limit_s * 1000) * 2)
            check = compare(case, project_rows(conn, case, run_id), expected)
    peak_kib = python_peak_kib(lambda: call_report(conn, case))
    return CaseResult(
        case=case,
        project=project,
        floor=floor,
        rows_read=rows_read,
        seeds=seeds,
        check=check,
        python_peak_kib=peak_kib,
        peak_rss_mib=peak_rss_mib(),
    )
