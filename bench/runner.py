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
# The deals runs keep (store_deals). They have no foreign key to report_run, so truncating
# the headers does not remove them (``clear_deals``).
DEAL_TABLES = ("dyno_crm.report_win_loss_deal", "dyno_crm.report_aging_deal")


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
    fact_rows: int  # of one run (the last)
    deals_stored: int | None  # of one run; None: the run kept no deals


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


def clear_deals(conn: psycopg.Connection[Any]) -> None:
    """Remove every run's deals: the benchmark's own (its database is its own), after each
    case that stored some, outside the timed part, so that they do not pile up across
    cases and runs of the benchmark (an aging run of the large tenant's open deals keeps
    260,354 rows). Within a case they accumulate over its ``repeat`` + 3 runs, as they
    would between two prunes of a schedule."""
    with conn.transaction():
        conn.execute(f"truncate {', '.join(DEAL_TABLES)}")


def run_counts(conn: psycopg.Connection[Any], run_id: uuid.UUID) -> tuple[int, int | None]:
    """(fact rows, deals stored) of a run, as its header records them."""
    row = conn.execute(
        "select fact_count, deal_count from dyno_crm.report_run where run_id = %s", (run_id,)
    ).fetchone()
    conn.rollback()
    assert row is not None
    return int(row[0]), None if row[1] is None else int(row[1])


def create_floor_table(conn: psycopg.Connection[Any]) -> None:
    """The aging floor's copy of the open deals and its index
    (``bench/sql/floor_aging_table.sql``), after a dbt run; vacuumed, so that the floor is
    an index-only scan like the report's reads."""
    with conn.transaction():
        conn.execute(load_sql("floor_aging_table.sql"))
    conn.autocommit = True
    try:
        conn.execute("vacuum (analyze) bench.floor_current_deals")
    finally:
        conn.autocommit = False


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
    """Time the case, then check its last run's facts against the seeds' SQL (the seeds'
    rows of the run only, ``bench/checks.py``); then remove the deals its runs kept."""
    runs: list[uuid.UUID] = []

    def call() -> None:
        runs.append(call_report(conn, case))

    project, floor = time_interleaved([call, lambda: count_floor(conn, case)], repeat)
    rows_read = count_floor(conn, case)
    seeds = None
    check = "not run"
    if seed_limit_s is not None:
        seeds = time_seed_sql(conn, case, seed_limit_s, repeat)
        if not seeds.timed_out:
            run_id = call_report(conn, case)
            expected = run_seed_sql(conn, case, int(seed_limit_s * 1000) * 2)
            check = compare(case, project_rows(conn, case, run_id), expected)
    peak_kib = python_peak_kib(call)
    fact_rows, deals_stored = run_counts(conn, runs[-1])
    if case.stores_deals:
        clear_deals(conn)
    return CaseResult(
        case=case,
        project=project,
        floor=floor,
        rows_read=rows_read,
        seeds=seeds,
        check=check,
        python_peak_kib=peak_kib,
        peak_rss_mib=peak_rss_mib(),
        fact_rows=fact_rows,
        deals_stored=deals_stored,
    )
