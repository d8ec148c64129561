"""Report storage: the seeds' tables, with NULL dimensions unique as if NULLs were equal."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from orchestration.db import connect
from orchestration.warehouse.storage import ensure_report_storage, missing_storage

from conftest import Env, create_database, drop_database

Conn = psycopg.Connection[Any]

WIN_LOSS_FACT = (
    "insert into dyno_crm.report_deal_win_loss_fact (run_id, tenant_id, pipeline_id, source,"
    " deals_closed_won_count, deals_closed_lost_count, total_amount_won, total_amount_lost)"
    " values (%s, %s, %s, %s, 0, 0, 0, 0)"
)
AGING_FACT = (
    "insert into dyno_crm.report_deal_aging_fact (run_id, tenant_id, pipeline_id, stage_id,"
    " threshold_days, at_risk_deal_count, at_risk_amount, avg_days_in_stage, total_deal_count,"
    " total_amount) values (%s, %s, %s, %s, 1, 0, 0, 0, 0, 0)"
)


def new_run(conn: Conn, report_type: str) -> tuple[uuid.UUID, uuid.UUID]:
    run_id, tenant = uuid.uuid4(), uuid.uuid4()
    conn.execute(
        "insert into dyno_crm.report_run (run_id, tenant_id, report_type) values (%s, %s, %s)",
        (run_id, tenant, report_type),
    )
    return run_id, tenant


def test_rows_with_null_dimensions_are_stored_and_kept_unique(conn: Conn) -> None:
    run_id, tenant = new_run(conn, "deal_win_loss")
    conn.execute(WIN_LOSS_FACT, (run_id, tenant, None, None))
    conn.execute(WIN_LOSS_FACT, (run_id, tenant, uuid.uuid4(), None))
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(WIN_LOSS_FACT, (run_id, tenant, None, None))
    conn.rollback()

    run_id, tenant = new_run(conn, "deal_aging")
    stage = uuid.uuid4()
    conn.execute(AGING_FACT, (run_id, tenant, None, stage))
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(AGING_FACT, (run_id, tenant, None, stage))
    conn.rollback()


def test_facts_need_their_run_and_go_with_it(conn: Conn) -> None:
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        conn.execute(WIN_LOSS_FACT, (uuid.uuid4(), uuid.uuid4(), None, None))
    conn.rollback()
    run_id, tenant = new_run(conn, "deal_win_loss")
    conn.execute(WIN_LOSS_FACT, (run_id, tenant, None, None))
    conn.execute("delete from dyno_crm.report_run where run_id = %s", (run_id,))
    row = conn.execute(
        "select count(*) from dyno_crm.report_deal_win_loss_fact where run_id = %s", (run_id,)
    ).fetchone()
    assert row == (0,)
    conn.rollback()


def test_storage_setup_is_idempotent(conn: Conn) -> None:
    ensure_report_storage(conn)
    ensure_report_storage(conn)
    indexes = {
        row[0]
        for row in conn.execute(
            "select indexname from pg_indexes where schemaname = 'dyno_crm'"
        ).fetchall()
    }
    conn.rollback()
    assert {
        "ix_report_run_tenant_type",
        "ix_report_run_dagster_run",
        "ix_rdw1_tenant_pipeline",
        "ix_rdw1_principal",
        "ix_rdfa_tenant_pipeline",
        "ix_rdfa_principal",
        "ux_rdw1_dimensions",
        "ux_rdfa_dimensions",
    } <= indexes


def test_storage_from_before_the_dagster_run_index_gets_it(conn: Conn) -> None:
    conn.execute("drop index dyno_crm.ix_report_run_dagster_run")
    conn.commit()
    ensure_report_storage(conn)
    row = conn.execute(
        "select indexdef from pg_indexes where indexname = 'ix_report_run_dagster_run'"
    ).fetchone()
    conn.rollback()
    assert row is not None
    assert "WHERE (dagster_run_id IS NOT NULL)" in row[0]


def test_current_storage_is_only_looked_at_never_locked(built_env: Env) -> None:
    """A build of current storage takes no lock on it: not even behind a holder of ACCESS
    EXCLUSIVE does it wait (this session may wait 100 ms for any lock)."""
    with connect(built_env) as holder, connect(built_env) as building:
        holder.execute("lock table dyno_crm.report_run in access exclusive mode")
        holder.execute("lock table dyno_crm.report_deal_win_loss_fact in access exclusive mode")
        building.execute("set lock_timeout = 100")
        building.commit()
        assert missing_storage(building) == []
        ensure_report_storage(building)  # returns: nothing to create, nothing locked
        holder.rollback()


def test_missing_storage_is_named_and_created(server_env: Env) -> None:
    env = create_database(server_env, "dyno_test_storage")
    try:
        with connect(env) as conn:
            missing = missing_storage(conn)
            assert "dyno_crm.report_run" in missing
            assert "dyno_crm.report_run.fact_count" in missing
            ensure_report_storage(conn)
            assert missing_storage(conn) == []
            with conn.transaction():
                conn.execute("drop index dyno_crm.ix_rdfa_principal")
            assert missing_storage(conn) == ["dyno_crm.ix_rdfa_principal"]
            ensure_report_storage(conn)
            assert missing_storage(conn) == []
    finally:
        drop_database(server_env, env)


# What this migrations add, undone: storage as it was before breakdowns and deals.
_BEFORE_BREAKDOWNS = """
drop table dyno_crm.report_win_loss_deal;
drop table dyno_crm.report_aging_deal;
drop index dyno_crm.ux_rdw1_dimensions;
drop index dyno_crm.ux_rdfa_dimensions;
alter table dyno_crm.report_deal_win_loss_fact
    drop column breakdown, drop column all_pipelines, drop column closed_count,
    drop column win_rate_by_amount, drop column win_rate_low, drop column win_rate_high,
    add constraint uq_rdw1_dimensions unique nulls not distinct (
        run_id, pipeline_id, principal_type, principal_id, source, stage_id);
alter table dyno_crm.report_deal_aging_fact
    drop column breakdown, drop column all_pipelines, drop column all_stages,
    add constraint uq_rdfa_dimensions unique nulls not distinct (
        run_id, pipeline_id, principal_type, principal_id, stage_id);
alter table dyno_crm.report_run
    drop column deal_count, drop column deals_pruned_at,
    drop column data_latest_stage_entry, drop column models_built_at;
"""


def test_storage_from_before_breakdowns_is_migrated_in_place(server_env: Env) -> None:
    """Existing runs keep their rows; the seeds' uniqueness moves to an index that also
    tells breakdown and total rows apart, and the deal tables appear."""
    env = create_database(server_env, "dyno_test_storage")
    try:
        with connect(env) as conn:
            ensure_report_storage(conn)
            with conn.transaction():
                conn.execute(_BEFORE_BREAKDOWNS)
                run_id, tenant = uuid.uuid4(), uuid.uuid4()
                conn.execute(
                    "insert into dyno_crm.report_run (run_id, tenant_id, report_type)"
                    " values (%s, %s, 'deal_win_loss')",
                    (run_id, tenant),
                )
                conn.execute(WIN_LOSS_FACT, (run_id, tenant, None, None))
            missing = missing_storage(conn)
            assert {
                "dyno_crm.report_win_loss_deal",
                "dyno_crm.report_aging_deal",
                "dyno_crm.ux_rdw1_dimensions",
                "dyno_crm.report_run.deal_count",
                "dyno_crm.report_deal_aging_fact.breakdown",
            } <= set(missing)
            ensure_report_storage(conn)
            assert missing_storage(conn) == []
            constraints = {
                row[0]
                for row in conn.execute(
                    "select conname from pg_constraint where conname like 'uq_rd%%'"
                ).fetchall()
            }
            old_row = conn.execute(
                "select breakdown, all_pipelines from dyno_crm.report_deal_win_loss_fact"
                " where run_id = %s",
                (run_id,),
            ).fetchall()
            conn.rollback()
            assert constraints == set()
            assert old_row == [(None, False)]  # an old run's row reads as a seeds' row
    finally:
        drop_database(server_env, env)
