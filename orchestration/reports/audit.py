"""Checking the stored runs for what must never happen: ``audit_report_runs``.

A run is an audit record, so the storage is checked as a whole, read-only (it takes no
lock and writes nothing, so it is safe while runs are going on):

- orphan facts: fact rows of a run that is not ``SUCCEEDED`` (facts and ``SUCCEEDED``
  commit together, so there must be none);
- miscounted runs: ``SUCCEEDED`` runs whose stored ``fact_count`` differs from the fact
  rows present (rows lost or added after the run);
- stuck runs: ``IN_PROGRESS`` headers whose run lock nobody holds (the process died and
  recovery has not run yet; ``recover_stale_runs`` fixes them);
- cross-tenant facts: fact rows whose ``tenant_id`` differs from their run's, or that sit
  in the other report's fact table;
- the deals behind runs (``store_deals``): deal rows without a ``SUCCEEDED`` run that kept
  them (or whose deals retention deleted), of another tenant or report, runs whose
  ``deal_count`` differs from the rows present, and runs whose deals do not sum to their
  seeds' fact rows exactly (counts and amounts per pipeline, and stage for aging).

For ``dyno-reports runs --check``, the Dagster daemon and the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from orchestration.reports.facts_statement import report_sql
from orchestration.reports.run_bounds import storage_required
from orchestration.reports.run_lock import LOCK_NAMESPACE, lock_key_sql

# Each fact table and the report type its rows belong to.
_FACT_TABLES = (
    ("report_deal_win_loss_fact", "deal_win_loss"),
    ("report_deal_aging_fact", "deal_aging"),
)


@dataclass(frozen=True)
class AuditResult:
    """Counts of the storage's runs and of every violation (all violations must be 0)."""

    runs_by_status: dict[str, int] = field(default_factory=dict)
    fact_rows: int = 0
    orphan_fact_rows: int = 0
    miscounted_runs: int = 0
    miscounted_fact_rows: int = 0
    stuck_runs: int = 0
    cross_tenant_fact_rows: int = 0
    wrong_report_fact_rows: int = 0
    deal_rows: int = 0
    orphan_deal_rows: int = 0
    misplaced_deal_rows: int = 0
    miscounted_deal_runs: int = 0
    deals_differ_from_facts_runs: int = 0

    @property
    def problems(self) -> list[str]:
        """One sentence per kind of violation found; empty when the storage is sound."""
        found = {
            "fact rows of runs that are not SUCCEEDED": self.orphan_fact_rows,
            "SUCCEEDED runs whose fact rows differ from their fact_count": self.miscounted_runs,
            "IN_PROGRESS runs whose process is gone (run recover_stale_runs)": self.stuck_runs,
            "fact rows whose tenant differs from their run's": self.cross_tenant_fact_rows,
            "fact rows in the other report's fact table": self.wrong_report_fact_rows,
            "deal rows without a SUCCEEDED run that kept them": self.orphan_deal_rows,
            "deal rows of another tenant or report than their run's": self.misplaced_deal_rows,
            "runs whose deal rows differ from their deal_count": self.miscounted_deal_runs,
            "runs whose deals do not sum to their fact rows": self.deals_differ_from_facts_runs,
        }
        return [f"{count} {what}" for what, count in found.items() if count]

    @property
    def ok(self) -> bool:
        return not self.problems


def audit_report_runs(conn: psycopg.Connection[Any]) -> AuditResult:
    """Check every stored run and fact row; see the module's docstring for the checks."""
    with storage_required(), conn.transaction():
        # One snapshot for every count, so that runs finishing meanwhile cannot make the
        # checks disagree with each other.
        conn.execute("set transaction isolation level repeatable read, read only")
        statuses = conn.execute(
            "select status, count(*) from dyno_crm.report_run group by status"
        ).fetchall()
        counts = [_fact_checks(conn, table, report_type) for table, report_type in _FACT_TABLES]
        miscounted_row = conn.execute(
            sql.SQL(
                "select count(*), coalesce(sum(abs(runs.fact_count - present.rows)), 0)"
                " from dyno_crm.report_run as runs"
                " cross join lateral (select {counts} as rows) as present"
                " where runs.status = 'SUCCEEDED' and runs.fact_count is not null"
                " and runs.fact_count <> present.rows"
            ).format(
                counts=sql.SQL(" + ").join(
                    sql.SQL(
                        "(select count(*) from {} as facts where facts.run_id = runs.run_id)"
                    ).format(sql.Identifier("dyno_crm", table))
                    for table, _ in _FACT_TABLES
                )
            ),
        ).fetchone()
        assert miscounted_row is not None
        deals = conn.execute(report_sql("audit_deals.sql")).fetchone()
        assert deals is not None
    stuck = _count_stuck_runs(conn)
    return AuditResult(
        runs_by_status={str(status): int(count) for status, count in statuses},
        fact_rows=sum(count[0] for count in counts),
        orphan_fact_rows=sum(count[1] for count in counts),
        miscounted_runs=int(miscounted_row[0]),
        miscounted_fact_rows=int(miscounted_row[1]),
        stuck_runs=stuck,
        cross_tenant_fact_rows=sum(count[2] for count in counts),
        wrong_report_fact_rows=sum(count[3] for count in counts),
        deal_rows=int(deals[0]),
        orphan_deal_rows=int(deals[1]),
        misplaced_deal_rows=int(deals[2]),
        miscounted_deal_runs=int(deals[3]),
        deals_differ_from_facts_runs=int(deals[4]),
    )


def _count_stuck_runs(conn: psycopg.Connection[Any]) -> int:
    """IN_PROGRESS runs whose lock is free, checked in two steps to be race-free.

    ``pg_locks`` is live, not part of a snapshot: a run that finished after a snapshot was
    taken would look stuck in it. So the lock-free candidates are found first, then their
    status is read again by a later statement: a live run releases its lock only after its
    final status committed, so a candidate still IN_PROGRESS then has no live owner.
    """
    with conn.transaction():
        candidates = [
            row[0]
            for row in conn.execute(
                sql.SQL(
                    "select runs.run_id from dyno_crm.report_run as runs"
                    " where runs.status = 'IN_PROGRESS' and not exists ("
                    " select from pg_locks"
                    " where locktype = 'advisory' and granted and objsubid = 2"
                    " and database = (select oid from pg_database"
                    " where datname = current_database())"
                    " and classid::bigint = %s"
                    " and objid::bigint = {key}::bigint & 4294967295)"
                ).format(key=lock_key_sql("runs", "run_id")),
                (LOCK_NAMESPACE,),
            ).fetchall()
        ]
        if not candidates:
            return 0
        return _scalar(
            conn,
            sql.SQL(
                "select count(*) from dyno_crm.report_run"
                " where run_id = any(%s) and status = 'IN_PROGRESS'"
            ),
            (candidates,),
        )


def _fact_checks(
    conn: psycopg.Connection[Any], table: str, report_type: str
) -> tuple[int, int, int, int]:
    """(rows, rows of non-SUCCEEDED runs, rows of another tenant, rows of another report)."""
    row = conn.execute(
        sql.SQL(
            "select count(*),"
            " count(*) filter (where runs.status <> 'SUCCEEDED'),"
            " count(*) filter (where facts.tenant_id <> runs.tenant_id),"
            " count(*) filter (where runs.report_type <> %s)"
            " from {} as facts"
            " inner join dyno_crm.report_run as runs on facts.run_id = runs.run_id"
        ).format(sql.Identifier("dyno_crm", table)),
        (report_type,),
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def _scalar(
    conn: psycopg.Connection[Any], query: sql.SQL | sql.Composed, params: tuple[Any, ...] = ()
) -> int:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return int(row[0])
