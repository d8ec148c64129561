"""The run lifecycle: header first, facts and SUCCEEDED together, FAILED on any error."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
from psycopg import sql

from orchestration.db import connect
from orchestration.reports import (
    ReportRunError,
    recover_stale_runs,
    run_deal_aging_report,
    run_deal_win_loss_report,
)
from orchestration.reports.run_lock import LOCK_NAMESPACE, lock_key_sql, run_lock_key

from conftest import Env, create_database, drop_database
from fault_tools import unique_app_name, wait_until_gone
from report_rows import fact_count, facts, header
from scenarios import OVERFLOW_TENANT, Q1_END, Q1_START, WL_TENANT

Conn = psycopg.Connection[Any]


def test_header_is_committed_in_progress_before_the_facts_are_written(built_env: Env) -> None:
    """Block the fact insert with a table lock and look at the run from outside meanwhile."""
    result: dict[str, Any] = {}
    with connect(built_env) as blocker, connect(built_env) as observer:
        blocker.execute("lock table dyno_crm.report_deal_win_loss_fact in exclusive mode")

        def run() -> None:
            with connect(built_env) as conn:
                result["run_id"] = run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END)

        worker = threading.Thread(target=run)
        worker.start()
        in_progress = wait_for_in_progress(observer, WL_TENANT)
        assert fact_count(observer, in_progress) == 0
        blocker.rollback()  # releases the lock
        worker.join(timeout=60)
        assert result["run_id"] == in_progress
        assert header(observer, in_progress)["status"] == "SUCCEEDED"
        assert fact_count(observer, in_progress) == 3


def wait_for_in_progress(conn: Conn, tenant: uuid.UUID, timeout: float = 30) -> uuid.UUID:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "select run_id from dyno_crm.report_run"
            " where tenant_id = %s and status = 'IN_PROGRESS'",
            (tenant,),
        ).fetchone()
        conn.rollback()
        if row is not None:
            return uuid.UUID(str(row[0]))
        time.sleep(0.05)
    raise AssertionError("no IN_PROGRESS header appeared")


def latest_run(conn: Conn, tenant: uuid.UUID) -> dict[str, Any]:
    row = conn.execute(
        "select run_id from dyno_crm.report_run"
        " where tenant_id = %s order by generated_at desc limit 1",
        (tenant,),
    ).fetchone()
    conn.rollback()
    assert row is not None
    return header(conn, row[0])


def test_an_error_while_computing_marks_the_run_failed_with_no_facts(conn: Conn) -> None:
    # Two won deals at the NUMERIC(20,2) maximum: the won total overflows the fact column,
    # and the message names the columns of that type (PostgreSQL names only the type).
    with pytest.raises(ReportRunError, match="too large for its column") as raised:
        run_deal_win_loss_report(conn, OVERFLOW_TENANT, Q1_START, Q1_END)
    assert isinstance(raised.value.__cause__, psycopg.errors.NumericValueOutOfRange)
    assert "total_amount_won" in str(raised.value)
    run = latest_run(conn, OVERFLOW_TENANT)
    assert run["status"] == "FAILED"
    assert "numeric field overflow" in run["error_message"]
    assert "total_amount_won" in run["error_message"]
    assert fact_count(conn, run["run_id"]) == 0
    # The connection is usable afterwards.
    assert run_deal_aging_report(conn, OVERFLOW_TENANT, 1)


def test_models_not_built_fails_the_run_with_a_pointer_to_the_build(empty_database: Env) -> None:
    tenant = uuid.uuid4()
    with connect(empty_database) as conn:
        with pytest.raises(ReportRunError, match="dyno-reports build"):
            run_deal_aging_report(conn, tenant, 5)
        run = latest_run(conn, tenant)
        assert run["status"] == "FAILED"
        assert "int_current_deals" in run["error_message"]
        assert fact_count(conn, run["run_id"]) == 0


def test_missing_report_storage_is_explained_and_nothing_is_left_behind(server_env: Env) -> None:
    env = create_database(server_env, "dyno_test_bare")
    try:
        with connect(env) as conn:
            with pytest.raises(ReportRunError, match="report storage tables are missing"):
                run_deal_win_loss_report(conn, uuid.uuid4(), Q1_START, Q1_END)
            held = conn.execute(
                "select count(*) from pg_locks"
                " where locktype = 'advisory' and pid = pg_backend_pid()"
            ).fetchone()
            assert held == (0,)
    finally:
        drop_database(server_env, env)


def test_a_connection_inside_a_transaction_is_refused_before_writing(conn: Conn) -> None:
    conn.execute("select 1")  # opens a transaction (psycopg is not in autocommit)
    with pytest.raises(ReportRunError, match="open transaction"):
        run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END)
    conn.rollback()


def test_autocommit_connections_work_too(built_env: Env) -> None:
    with connect(built_env, autocommit=True) as conn:
        run_id = run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END)
        assert header(conn, run_id)["status"] == "SUCCEEDED"
        assert len(facts(conn, run_id)) == 3


def test_a_run_whose_session_died_is_recovered_as_failed(conn: Conn, built_env: Env) -> None:
    run_id = uuid.uuid4()
    app_name = unique_app_name("owner")
    with connect(built_env, application_name=app_name) as owner:
        owner.execute("select pg_advisory_lock(%s, %s)", (LOCK_NAMESPACE, run_lock_key(run_id)))
        owner.execute(
            "insert into dyno_crm.report_run (run_id, tenant_id, report_type, status)"
            " values (%s, %s, 'deal_aging', 'IN_PROGRESS')",
            (run_id, WL_TENANT),
        )
        owner.commit()
        # Alive: its lock is held, so recovery leaves it alone.
        assert run_id not in recover_stale_runs(conn)
        assert header(conn, run_id)["status"] == "IN_PROGRESS"
    # The owning session is gone (its backend exits, and frees the lock, a moment after the
    # client closes): the next run's recovery marks it FAILED.
    wait_until_gone(conn, app_name)
    run_deal_aging_report(conn, WL_TENANT, 5)
    row = header(conn, run_id)
    assert row["status"] == "FAILED"
    assert "stale run" in row["error_message"]


def test_lock_key_matches_its_sql_form(conn: Conn) -> None:
    for _ in range(20):
        run_id = uuid.uuid4()
        row = conn.execute(
            sql.SQL("select {} from (select %s::uuid as run_id) as runs").format(
                lock_key_sql("runs", "run_id")
            ),
            (run_id,),
        ).fetchone()
        assert row == (run_lock_key(run_id),)
    conn.rollback()
