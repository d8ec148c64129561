"""Retention of the deals behind runs: deal rows grow fast under schedules, so those of runs
older than N days are deleted; headers and fact rows are kept (they are the audit record),
and the header says when its deals went (``deals_pruned_at``).

Runs are pruned a batch at a time, each batch its own short transaction, so pruning a
year of history never holds locks for long nor loses what was done when interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import psycopg

from orchestration.reports.parameters import ReportInputError, parse_threshold
from orchestration.reports.run_bounds import storage_required

RUNS_PER_BATCH: Final = 200
DEFAULT_DEAL_RETENTION_DAYS: Final = 90

_PRUNE_BATCH = """
with runs as (
    select run_id
    from dyno_crm.report_run
    where
        generated_at < %(cutoff)s
        and deal_count is not null
        and deals_pruned_at is null
    order by generated_at
    limit %(batch)s
    for update skip locked
),

win_loss as (
    delete from dyno_crm.report_win_loss_deal as deals
    using runs
    where deals.run_id = runs.run_id
    returning 1
),

aging as (
    delete from dyno_crm.report_aging_deal as deals
    using runs
    where deals.run_id = runs.run_id
    returning 1
),

marked as (
    update dyno_crm.report_run
    set deals_pruned_at = %(now)s
    from runs
    where report_run.run_id = runs.run_id
    returning 1
)

select
    (select count(*) from marked),
    (select count(*) from win_loss) + (select count(*) from aging)
"""


@dataclass(frozen=True)
class PruneResult:
    cutoff: datetime
    runs: int
    deal_rows: int


def parse_retention_days(value: object) -> int:
    days = parse_threshold("older_than_days", value, required=True)
    assert days is not None
    return days


def prune_run_deals(
    conn: psycopg.Connection[Any], older_than_days: int, now: datetime | None = None
) -> PruneResult:
    """Delete the deal rows of runs generated more than ``older_than_days`` days before
    ``now`` (default: the current time); return how many runs and deal rows."""
    days = parse_retention_days(older_than_days)
    at = now or datetime.now(UTC)
    if at.tzinfo is None:
        raise ReportInputError("now", "must be timezone-aware")
    cutoff = at - timedelta(days=days)
    runs = deal_rows = 0
    with storage_required():
        while True:
            with conn.transaction():
                row = conn.execute(
                    _PRUNE_BATCH, {"cutoff": cutoff, "batch": RUNS_PER_BATCH, "now": at}
                ).fetchone()
            assert row is not None
            runs += int(row[0])
            deal_rows += int(row[1])
            if int(row[0]) < RUNS_PER_BATCH:
                return PruneResult(cutoff=cutoff, runs=runs, deal_rows=deal_rows)
