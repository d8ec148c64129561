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
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from orchestration.db import connect
from orchestration.defs.resources import PostgresResource
from orchestration.defs.run_health_sensors import report_run_failure_sensor
from orchestration.reports import recover_stale_runs, run_deal_win_loss_report
from orchestration.reports.dagster_runs import (
    dagster_run_session,
    fail_headers_of_dagster_run,
    headers_of_dagster_run,
)
from orchestration.settings import PROJECT_DIR

from conftest import Env
from scenarios import Q1_END, Q1_START, WL_TENANT

pytestmark = pytest.mark.dagster

# A report run in a separate process that can be killed: runs one win/loss report tagged
# with the Dagster run id given as argument.
_REPORT_PROCESS = """
import sys
from orchestration.db import connect
from orchestration.reports import run_deal_win_loss_report
from orchestration.reports.dagster_runs import dagster_run_session
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


@pytest.mark.parametrize("worker_fate", ["killed", "resumed"])
def test_a_hung_worker_declared_dead_by_dagster_cannot_leave_or_finish_its_header(
    built_env: Env, conn: psycopg.Connection[Any], worker_fate: str
) -> None:
    """A frozen worker (SIGSTOP) keeps its session and run lock: only its Dagster run id
    tells its header apart from a live run. Once the header is FAILED, the worker either
    dies or wakes up; neither leaves facts or turns the header SUCCEEDED."""
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
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_for(
                "the report to block on the fact table", lambda: backend_state(conn, app) == "Lock"
            )
            [(header, _, status)] = headers_of_dagster_run(conn, dagster_run_id)
            assert status == "IN_PROGRESS"
            process.send_signal(signal.SIGSTOP)
            # Its session lives on and holds the run lock: lock-based recovery sees a live run.
            assert header not in recover_stale_runs(conn)
            assert fail_headers_of_dagster_run(conn, dagster_run_id, "worker lost") == [header]
            process.send_signal(signal.SIGKILL if worker_fate == "killed" else signal.SIGCONT)
        except BaseException:
            process.kill()
            raise
    # The fact table is free again: a woken worker inserts, finds its header no longer
    # IN_PROGRESS and rolls back; a killed one's backend ends and rolls back.
    _, stderr = process.communicate(timeout=60)
    assert process.returncode != 0
    if worker_fate == "resumed":
        assert "is no longer IN_PROGRESS" in stderr
    wait_for("the worker's backend to end", lambda: backend_state(conn, app) is None)
    with conn.transaction():
        outcome = conn.execute(
            "select status, error_message from dyno_crm.report_run where run_id = %s", (header,)
        ).fetchone()
        facts = conn.execute(
            "select count(*) from dyno_crm.report_deal_win_loss_fact where run_id = %s", (header,)
        ).fetchone()
    assert outcome == (
        "FAILED",
        f"Dagster run {dagster_run_id} failed before this report finished: worker lost",
    )
    assert facts == (0,)


# A Dagster run of the ad-hoc win/loss job, recorded in the instance of $DAGSTER_HOME under
# the run id given as argument.
_DAGSTER_WORKER = """
import sys
import dagster as dg
from orchestration.definitions import defs
defs.resolve_job_def("deal_win_loss_report_job").execute_in_process(
    run_config={"ops": {"deal_win_loss_report": {"config": {
        "tenant_id": sys.argv[2], "period_start": sys.argv[3], "period_end": sys.argv[4],
    }}}},
    instance=dg.DagsterInstance.get(),
    run_id=sys.argv[1],
)
"""


def test_a_dagster_run_that_dies_leaves_no_in_progress_header(
    built_env: Env, conn: psycopg.Connection[Any], tmp_path: Path
) -> None:
    """The worker is killed mid-report; Dagster fails the run (as the daemon's run
    monitoring does when the worker stops heartbeating) and report_run_failure_sensor's
    tick closes the header."""
    dagster_run_id = str(uuid.uuid4())
    app = f"dyno_test_{uuid.uuid4().hex[:8]}"
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with fact_table_locked(built_env):
        worker = subprocess.Popen(  # noqa: S603 - our interpreter, our script
            [
                sys.executable,
                "-c",
                _DAGSTER_WORKER,
                dagster_run_id,
                str(WL_TENANT),
                Q1_START.isoformat(),
                Q1_END.isoformat(),
            ],
            cwd=PROJECT_DIR,
            env={**os.environ, **built_env, "PGAPPNAME": app, "DAGSTER_HOME": str(tmp_path)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(
                "the report to block on the fact table",
                lambda: backend_state(conn, app) == "Lock",
                timeout=180,
            )
            [(header, _, status)] = headers_of_dagster_run(conn, dagster_run_id)
            assert status == "IN_PROGRESS"
        finally:
            worker.kill()
            worker.wait(timeout=30)

    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        run = instance.get_run_by_id(dagster_run_id)
        assert run is not None
        assert run.status == dg.DagsterRunStatus.STARTED  # nobody told Dagster yet
        instance.report_run_failed(run, "run worker process exited unexpectedly")
        failed_run = instance.get_run_by_id(dagster_run_id)
        assert failed_run is not None
        [record] = instance.get_records_for_run(
            dagster_run_id, of_type=dg.DagsterEventType.RUN_FAILURE
        ).records
        event = record.event_log_entry.dagster_event
        assert event is not None
        context = dg.build_run_status_sensor_context(
            sensor_name="report_run_failure_sensor",
            dagster_event=event,
            dagster_instance=instance,
            dagster_run=failed_run,
            resources={"postgres": PostgresResource.from_environment(built_env)},
        )
        result = report_run_failure_sensor(context.for_run_failure())
    finally:
        instance.dispose()
    assert isinstance(result, dg.SkipReason)
    assert result.skip_message == f"marked 1 report run(s) of {dagster_run_id} FAILED"
    assert headers_of_dagster_run(conn, dagster_run_id) == [(header, "deal_win_loss", "FAILED")]
    with conn.transaction():
        row = conn.execute(
            "select error_message from dyno_crm.report_run where run_id = %s", (header,)
        ).fetchone()
    assert row is not None
    assert row[0].startswith(f"Dagster run {dagster_run_id} failed before this report finished")
    assert "run worker process exited unexpectedly" in row[0]
