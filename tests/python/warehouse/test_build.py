"""`build` on empty, partial and existing warehouses: never touches existing source tables."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestration.db import connect
from orchestration.reports import run_deal_aging_report, run_deal_win_loss_report
from orchestration.warehouse.build import BuildError, build_reports_database, missing_source_tables

from conftest import Env, create_database, drop_database
from report_rows import facts, header


def test_build_on_an_empty_database_creates_what_the_reports_need(server_env: Env) -> None:
    env = create_database(server_env, "dyno_test_empty")
    try:
        build_reports_database(env)
        with connect(env) as conn:
            assert missing_source_tables(conn) == []
            start, end = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC)
            for run_id in (
                run_deal_win_loss_report(conn, "00000000-0000-0000-0000-000000000001", start, end),
                run_deal_aging_report(conn, "00000000-0000-0000-0000-000000000001", 7),
            ):
                assert header(conn, run_id)["status"] == "SUCCEEDED"
                assert facts(conn, run_id) == []
    finally:
        drop_database(server_env, env)


def test_build_leaves_existing_source_tables_exactly_as_they_are(built_env: Env) -> None:
    definition = (
        "select table_name, column_name, data_type, is_nullable from information_schema.columns"
        " where table_schema = 'dyno_crm' and table_name in"
        " ('pipeline', 'pipeline_stage', 'deal', 'deal_pipeline_stage_state')"
        " order by table_name, column_name"
    )
    with connect(built_env) as conn:
        conn.execute("alter table dyno_crm.deal add column crm_only_extra text")
        conn.commit()
        before = conn.execute(definition).fetchall()
        counts = conn.execute("select count(*) from dyno_crm.deal_pipeline_stage_state").fetchone()
        conn.rollback()
    try:
        build_reports_database(built_env, ["--select", "staging"])
        with connect(built_env) as conn:
            assert conn.execute(definition).fetchall() == before
            assert (
                conn.execute("select count(*) from dyno_crm.deal_pipeline_stage_state").fetchone()
                == counts
            )
    finally:
        with connect(built_env) as conn:
            conn.execute("alter table dyno_crm.deal drop column crm_only_extra")
            conn.commit()


def test_build_refuses_a_partial_warehouse_and_names_the_missing_tables(server_env: Env) -> None:
    env = create_database(server_env, "dyno_test_partial")
    try:
        with connect(env) as conn:
            conn.execute("create schema dyno_crm")
            conn.execute("create table dyno_crm.deal (id uuid, tenant_id uuid)")
            conn.commit()
        with pytest.raises(BuildError, match=r"dyno_crm\.pipeline, dyno_crm\.pipeline_stage"):
            build_reports_database(env)
        with connect(env) as conn:
            assert missing_source_tables(conn) == [
                "pipeline",
                "pipeline_stage",
                "deal_pipeline_stage_state",
            ]
    finally:
        drop_database(server_env, env)
