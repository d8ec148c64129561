"""A Dagster run that dies never leaves its report_run header IN_PROGRESS."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from orchestration.db import connect
from orchestration.reports import recover_stale_runs, run_deal_win_loss_report
from orchestration.run_health import (
    dagster_run_session,
    fail_headers_of_dagster_run,
    headers_of_dagster_run,
)
from orchestration.settings import PROJECT_DIR

from conftest import Env
from scenarios import Q1_END, Q1_START, WL_TENANT

# A report run in a separate process that can be killed: runs one win/loss report tagged
# with the Dagster run id given as argument.
_REPORT_PROCESS = """
import sys
from orchestration.db import connect
from orchestration.reports import run_deal_win_loss_report
from orchestration.run_health import dagster_run_session
from datetime import datetime
with connect() as conn, dagster_run_session(conn, sys.argv[1]):
    run_deal_win_loss_report(
        conn, sys.argv[2], datetime.fromisoformat(sys.argv[3]), datetime.fromisoformat(sys.argv[4])
    )
"""


def wait_for(what: str, predicate: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def backend_state(conn: psycopg.Connection[Any], app: str) -> str | None:
    with conn.transaction():
        row = conn.execute(
            "select coalesce(wait_event_type, state) from pg_stat_activity"
            " where application_name = %s",
            (app,),
        ).fetchone()
    return None if row is None else str(row[0])


@contextmanager
def fact_table_locked(env: Env) -> Iterator[None]:
    """Hold a lock that makes every win/loss fact insert wait, as a long query would."""
    with connect(env) as holder:
        holder.execute("lock table dyno_crm.report_deal_win_loss_fact in share mode")
        try:
            yield
        finally:
            holder.rollback()


def test_headers_carry_the_dagster_run_that_wrote_them(conn: psycopg.Connection[Any]) -> None:
    dagster_run_id = f"test-{uuid.uuid4()}"
    with dagster_run_session(conn, dagster_run_id):
        tagged = run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END)
    untagged = run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END)
    assert headers_of_dagster_run(conn, dagster_run_id) == [(tagged, "deal_win_loss", "SUCCEEDED")]
    with conn.transaction():
        row = conn.execute(
            "select dagster_run_id from dyno_crm.report_run where run_id = %s", (untagged,)
        ).fetchone()
    assert row == (None,)
    # a finished header is never touched by the failure handling of its Dagster run
    assert fail_headers_of_dagster_run(conn, dagster_run_id, "worker lost") == []
    assert headers_of_dagster_run(conn, dagster_run_id)[0][2] == "SUCCEEDED"


def test_a_killed_run_blocked_in_the_database_is_failed_by_its_dagster_run_id(
    built_env: Env, conn: psycopg.Connection[Any]
) -> None:
    dagster_run_id = f"test-{uuid.uuid4()}"
    app = f"dyno_test_{uuid.uuid4().hex[:8]}"
    with fact_table_locked(built_env):
        process = subprocess.Popen(  # noqa: S603 - our interpreter, our script
            [
                sys.executable,
                "-c",
                _REPORT_PROCESS,
                dagster_run_id,
                str(WL_TENANT),
                Q1_START.isoformat(),
                Q1_END.isoformat(),
            ],
            cwd=PROJECT_DIR,
            env={**os.environ, **built_env, "PGAPPNAME": app},
        )
        try:
            wait_for(
                "the report to block on the fact table", lambda: backend_state(conn, app) == "Lock"
            )
            [(header, _, status)] = headers_of_dagster_run(conn, dagster_run_id)
            assert status == "IN_PROGRESS"
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
        # The worker is gone but its backend, waiting on the lock, still holds the run lock:
        # the lock-based recovery cannot tell it from a live run.
        assert header not in recover_stale_runs(conn)
        assert fail_headers_of_dagster_run(conn, dagster_run_id, "run worker killed") == [header]
    # The lock is free now: the orphaned backend finishes its insert, finds its client gone
    # and rolls back. The header stays FAILED, without facts.
    wait_for("the orphaned backend to exit", lambda: backend_state(conn, app) is None)
    with conn.transaction():
        outcome = conn.execute(
            "select status, error_message from dyno_crm.report_run where run_id = %s", (header,)
        ).fetchone()
        facts = conn.execute(
            "select count(*) from dyno_crm.report_deal_win_loss_fact where run_id = %s", (header,)
        ).fetchone()
    assert outcome == (
        "FAILED",
        f"Dagster run {dagster_run_id} failed before this report finished: run worker killed",
    )
    assert facts == (0,)
