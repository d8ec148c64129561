"""The storage audit finds each kind of violation it claims to find (planted by hand in a
database of its own), and nothing in a sound one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from orchestration.db import connect
from orchestration.reports.audit import audit_report_runs
from orchestration.reports.run_lock import LOCK_NAMESPACE, run_lock_key
from orchestration.warehouse.storage import ensure_report_storage

from conftest import Env, create_database, drop_database

Conn = psycopg.Connection[Any]


@pytest.fixture
def storage(server_env: Env) -> Iterator[Env]:
    env = create_database(server_env, "robustness_audit")
    with connect(env) as conn:
        ensure_report_storage(conn)
    yield env
    drop_database(server_env, env)


def add_run(
    conn: Conn,
    status: str,
    *,
    tenant: uuid.UUID,
    fact_count: int | None,
    facts: int = 0,
    fact_tenant: uuid.UUID | None = None,
    report_type: str = "deal_aging",
) -> uuid.UUID:
    run_id = uuid.uuid4()
    conn.execute(
        "insert into dyno_crm.report_run (run_id, tenant_id, report_type, status, fact_count)"
        " values (%s, %s, %s, %s, %s)",
        (run_id, tenant, report_type, status, fact_count),
    )
    for n in range(facts):
        conn.execute(
            "insert into dyno_crm.report_deal_aging_fact (run_id, tenant_id, pipeline_id,"
            " threshold_days, at_risk_deal_count, at_risk_amount, avg_days_in_stage,"
            " total_deal_count, total_amount) values (%s, %s, %s, 1, 0, 0, 0, 1, 1)",
            (run_id, fact_tenant or tenant, uuid.uuid5(run_id, str(n))),
        )
    conn.commit()
    return run_id


def test_each_violation_is_found_and_a_sound_storage_passes(storage: Env) -> None:
    tenant, other = uuid.uuid4(), uuid.uuid4()
    with connect(storage) as conn:
        add_run(conn, "SUCCEEDED", tenant=tenant, fact_count=2, facts=2)
        add_run(conn, "FAILED", tenant=tenant, fact_count=None)
        assert audit_report_runs(conn).ok
        assert audit_report_runs(conn).runs_by_status == {"SUCCEEDED": 1, "FAILED": 1}

        add_run(conn, "FAILED", tenant=tenant, fact_count=None, facts=3)
        add_run(conn, "SUCCEEDED", tenant=tenant, fact_count=5, facts=4)
        add_run(conn, "SUCCEEDED", tenant=tenant, fact_count=1, facts=1, fact_tenant=other)
        add_run(
            conn, "SUCCEEDED", tenant=tenant, fact_count=1, facts=1, report_type="deal_win_loss"
        )
        add_run(conn, "IN_PROGRESS", tenant=tenant, fact_count=None)
        with connect(storage) as owner:
            alive = uuid.uuid4()
            owner.execute("select pg_advisory_lock(%s, %s)", (LOCK_NAMESPACE, run_lock_key(alive)))
            conn.execute(
                "insert into dyno_crm.report_run (run_id, tenant_id, report_type, status)"
                " values (%s, %s, 'deal_aging', 'IN_PROGRESS')",
                (alive, tenant),
            )
            conn.commit()
            result = audit_report_runs(conn)
        assert result.orphan_fact_rows == 3
        assert result.miscounted_runs == 1
        assert result.miscounted_fact_rows == 1  # 5 claimed, 4 present
        assert result.cross_tenant_fact_rows == 1
        assert result.wrong_report_fact_rows == 1
        assert result.stuck_runs == 1  # the run whose lock is held is alive, not stuck
        assert len(result.problems) == 5
        assert not result.ok


def add_aging_run_with_deals(conn: Conn, tenant: uuid.UUID, amounts: list[int]) -> uuid.UUID:
    """A SUCCEEDED aging run of one (pipeline, stage) row and the deals it sums."""
    run_id, pipeline, stage = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    conn.execute(
        "insert into dyno_crm.report_run (run_id, tenant_id, report_type, status, fact_count,"
        " deal_count) values (%s, %s, 'deal_aging', 'SUCCEEDED', 1, %s)",
        (run_id, tenant, len(amounts)),
    )
    conn.execute(
        "insert into dyno_crm.report_deal_aging_fact (run_id, tenant_id, pipeline_id, stage_id,"
        " threshold_days, at_risk_deal_count, at_risk_amount, avg_days_in_stage,"
        " total_deal_count, total_amount) values (%s, %s, %s, %s, 1, 1, %s, 0, %s, %s)",
        (run_id, tenant, pipeline, stage, amounts[0], len(amounts), sum(amounts)),
    )
    for n, amount in enumerate(amounts):
        conn.execute(
            "insert into dyno_crm.report_aging_deal (run_id, tenant_id, deal_id, pipeline_id,"
            " stage_id, stage_entered_at, days_in_stage, days_in_cycle, threshold_days, at_risk,"
            " amount) values (%s, %s, %s, %s, %s, now(), 0, 0, 1, %s, %s)",
            (run_id, tenant, uuid.uuid5(run_id, str(n)), pipeline, stage, n == 0, amount),
        )
    conn.commit()
    return run_id


def test_deals_that_do_not_sum_to_their_facts_are_found(storage: Env) -> None:
    tenant = uuid.uuid4()
    with connect(storage) as conn:
        run_id = add_aging_run_with_deals(conn, tenant, [4, 6])
        sound = audit_report_runs(conn)
        assert sound.ok, sound.problems
        assert sound.deal_rows == 2

        conn.execute("update dyno_crm.report_aging_deal set amount = 7 where amount = 6")
        conn.commit()
        assert audit_report_runs(conn).deals_differ_from_facts_runs == 1

        conn.execute("update dyno_crm.report_run set deal_count = 3 where run_id = %s", (run_id,))
        conn.commit()
        assert audit_report_runs(conn).miscounted_deal_runs == 1

        failed = add_run(conn, "FAILED", tenant=tenant, fact_count=None)
        conn.execute(
            "insert into dyno_crm.report_aging_deal (run_id, tenant_id, deal_id, stage_id,"
            " stage_entered_at, days_in_stage, days_in_cycle, threshold_days, at_risk, amount)"
            " values (%s, %s, %s, %s, now(), 0, 0, 1, false, 1)",
            (failed, uuid.uuid4(), uuid.uuid4(), uuid.uuid4()),
        )
        conn.commit()
        found = audit_report_runs(conn)
        assert found.orphan_deal_rows == 1
        assert found.misplaced_deal_rows == 1  # another tenant's deal under this run
        assert len(found.problems) == 4
