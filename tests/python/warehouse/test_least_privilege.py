"""Both reports run under a login role whose only privileges come from the report-runner
group role, and that role can do nothing else: no deletes, no other writes, no DDL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from orchestration.db import connect
from orchestration.reports import (
    recover_stale_runs,
    run_deal_aging_report,
    run_deal_win_loss_report,
)
from orchestration.reports.audit import audit_report_runs
from orchestration.settings import MODELS_SCHEMA
from orchestration.warehouse.build import BuildError, build_reports_database
from orchestration.warehouse.dbt_cli import run_dbt
from orchestration.warehouse.privileges import RoleNameError, grant_report_runner

from conftest import Env
from report_rows import facts, header
from robustness_figures import FIGURES
from scenarios import AG_AS_OF, AG_TENANT, Q1_END, Q1_START, WL_TENANT

Conn = psycopg.Connection[Any]


@pytest.fixture
def runner_env(built_env: Env) -> Iterator[Env]:
    """A login role, member of a fresh report-runner group role; both dropped afterwards."""
    suffix = secrets.token_hex(5)
    runner, login, password = f"robustness_runner_{suffix}", f"robustness_login_{suffix}", suffix
    with connect(built_env, autocommit=True) as admin:
        grant_report_runner(admin, runner)
        admin.execute(
            sql.SQL("create role {} login password {} in role {}").format(
                sql.Identifier(login), sql.Literal(password), sql.Identifier(runner)
            )
        )
        try:
            yield {**built_env, "PGUSER": login, "PGPASSWORD": password}
        finally:
            for role in (login, runner):
                admin.execute(sql.SQL("drop owned by {}").format(sql.Identifier(role)))
                admin.execute(sql.SQL("drop role {}").format(sql.Identifier(role)))


def test_both_reports_run_under_the_runner_role_with_the_same_facts(
    conn: Conn, runner_env: Env
) -> None:
    with connect(runner_env) as restricted:
        win_loss = run_deal_win_loss_report(restricted, WL_TENANT, Q1_START, Q1_END)
        aging = run_deal_aging_report(restricted, AG_TENANT, 10, 30, period_end=AG_AS_OF)
        assert recover_stale_runs(restricted) == []
        assert audit_report_runs(restricted).ok
    FIGURES.add(runs_attempted=2, runs_succeeded=2)
    assert header(conn, win_loss)["status"] == "SUCCEEDED"
    assert header(conn, aging)["status"] == "SUCCEEDED"
    for restricted_run, full_run in (
        (win_loss, run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END)),
        (aging, run_deal_aging_report(conn, AG_TENANT, 10, 30, period_end=AG_AS_OF)),
    ):
        FIGURES.add(runs_attempted=1, runs_succeeded=1)
        expected, actual = facts(conn, full_run), facts(conn, restricted_run)
        FIGURES.compare_facts(expected, actual)
        assert actual == expected
        assert actual


FORBIDDEN = [
    "delete from dyno_crm.deal",
    "update dyno_crm.deal set name = 'x'",
    "insert into dyno_crm.pipeline (id, tenant_id, name)"
    " values (gen_random_uuid(), gen_random_uuid(), 'x')",
    "truncate dyno_crm.deal_pipeline_stage_state",
    "delete from dyno_crm.report_run",
    "truncate dyno_crm.report_run",
    "delete from dyno_crm.report_deal_win_loss_fact",
    "update dyno_crm.report_deal_aging_fact set total_deal_count = 0",
    f"delete from {MODELS_SCHEMA}.int_closing_instances",
    f"update {MODELS_SCHEMA}.int_current_deals set amount = 0",
    f"drop table {MODELS_SCHEMA}.int_closing_instances",
    "create table dyno_crm.intruder (id int)",
    f"create table {MODELS_SCHEMA}.intruder (id int)",
    "create table public.intruder (id int)",
    "create schema intruder",
    "alter table dyno_crm.report_run add column intruder int",
]


def test_the_runner_role_can_do_nothing_else(runner_env: Env) -> None:
    with connect(runner_env, autocommit=True) as restricted:
        for statement in FORBIDDEN:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                restricted.execute(statement)


def test_a_dbt_rebuild_keeps_the_runner_s_access(built_env: Env, runner_env: Env) -> None:
    def table_oid() -> int:
        with connect(built_env) as admin:
            row = admin.execute(
                "select %s::regclass::oid", (f"{MODELS_SCHEMA}.int_closing_instances",)
            ).fetchone()
        assert row is not None
        return int(row[0])

    before = table_oid()
    run_dbt(["run", "--select", "int_closing_instances"], environ=built_env)
    assert table_oid() != before  # dbt swapped in a new table: the old grant went with the old
    with connect(runner_env) as restricted:
        run_id = run_deal_win_loss_report(restricted, WL_TENANT, Q1_START, Q1_END)
        assert header(restricted, run_id)["status"] == "SUCCEEDED"
    FIGURES.add(runs_attempted=1, runs_succeeded=1)


@pytest.mark.parametrize("name", ["", "x" * 64, "a\x00b", None])
def test_bad_role_names_are_refused(conn: Conn, name: Any) -> None:
    with pytest.raises(RoleNameError, match=r"^role: "):
        grant_report_runner(conn, name)
    FIGURES.add(bad_inputs_tried=1)


def test_the_reports_need_no_temporary_tables(built_env: Env, runner_env: Env) -> None:
    """What docs/deployment.md suggests to a stricter DBA: revoke PUBLIC's TEMPORARY; runs
    still work."""
    database = sql.Identifier(built_env["PGDATABASE"])
    with connect(built_env, autocommit=True) as admin:
        admin.execute(sql.SQL("revoke temporary on database {} from public").format(database))
        try:
            with connect(runner_env) as restricted:
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    restricted.execute("create temporary table intruder (id int)")
                restricted.rollback()
                win_loss = run_deal_win_loss_report(restricted, WL_TENANT, Q1_START, Q1_END)
                aging = run_deal_aging_report(restricted, AG_TENANT, 10, 30, period_end=AG_AS_OF)
                for run_id in (win_loss, aging):
                    assert header(restricted, run_id)["status"] == "SUCCEEDED"
        finally:
            admin.execute(sql.SQL("grant temporary on database {} to public").format(database))
    FIGURES.add(runs_attempted=2, runs_succeeded=2)


def test_a_build_as_the_report_runner_says_whose_job_it_is(runner_env: Env) -> None:
    with pytest.raises(BuildError) as raised:
        build_reports_database(runner_env)
    message = str(raised.value)
    assert f"role {runner_env['PGUSER']!r} may not create tables in schema {MODELS_SCHEMA}" in (
        message
    )
    assert "run `dyno-reports build` as the role that owns them" in message
