"""Injecting faults into real report runs: runs in child processes, parking a run at a known
point with a lock held by the test, and reading back what the runs left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg

from orchestration.reports import run_deal_aging_report, run_deal_win_loss_report
from orchestration.settings import PROJECT_DIR

from report_rows import fact_count, header

Conn = psycopg.Connection[Any]

# A report run in a child process: the job as JSON in argv[1]; prints the run id.
_CHILD = """
import json, sys
from orchestration.db import connect
from fault_tools import run_job
with connect() as conn:
    print(run_job(conn, json.loads(sys.argv[1])))
"""


def run_job(conn: Conn, job: Mapping[str, Any]) -> uuid.UUID:
    """Run the report a JSON-able job describes (see ``win_loss_job``, ``aging_job``)."""
    if job["report"] == "deal_win_loss":
        return run_deal_win_loss_report(
            conn,
            job["tenant"],
            datetime.fromisoformat(job["start"]),
            datetime.fromisoformat(job["end"]),
        )
    return run_deal_aging_report(
        conn, job["tenant"], job["threshold_days"], period_end=datetime.fromisoformat(job["end"])
    )


def win_loss_job(tenant: uuid.UUID, start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "report": "deal_win_loss",
        "tenant": str(tenant),
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


def aging_job(tenant: uuid.UUID, threshold_days: int, end: datetime) -> dict[str, Any]:
    return {
        "report": "deal_aging",
        "tenant": str(tenant),
        "threshold_days": threshold_days,
        "end": end.isoformat(),
    }


# Where a run can be parked, as the start of the statement its backend then waits in.
PARKED_IN_RECOVERY = "with candidates as materialized"
# pg_stat_activity shows the first 1 kB of a query: the facts statements say this in their
# opening comment (reports/sql/win_loss_facts.sql, aging_facts.sql, aging_detail.sql).
PARKED_IN_FACTS = "facts of one run"
PARKED_IN_FINISH = "status = 'SUCCEEDED',"  # reports/sql/finish_run.sql


def spawn_win_loss(
    env: Mapping[str, str], app_name: str, tenant: uuid.UUID, start: datetime, end: datetime
) -> subprocess.Popen[str]:
    """A win/loss run in a child process whose connection is tagged ``app_name``."""
    return spawn_child(env, app_name, win_loss_job(tenant, start, end))


def spawn_child(
    env: Mapping[str, str], app_name: str, args: dict[str, Any]
) -> subprocess.Popen[str]:
    child_env = {
        **os.environ,
        **env,
        "PGAPPNAME": app_name,
        "PYTHONPATH": str(PROJECT_DIR / "tests" / "python"),
    }
    return subprocess.Popen(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", _CHILD, json.dumps(args)],
        cwd=PROJECT_DIR,
        env=child_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until_parked(observer: Conn, app_name: str, statement: str, timeout: float = 30) -> int:
    """Wait until the backend tagged ``app_name`` waits on a lock in ``statement``; its pid."""
    deadline = time.monotonic() + timeout
    seen: list[Any] = []
    while time.monotonic() < deadline:
        seen = observer.execute(
            "select pid, wait_event_type, query from pg_stat_activity where application_name = %s",
            (app_name,),
        ).fetchall()
        observer.rollback()
        for pid, wait_event_type, query in seen:
            if wait_event_type == "Lock" and statement in query:
                return int(pid)
        time.sleep(0.02)
    raise AssertionError(f"{app_name} never parked in {statement!r}; last seen {seen}")


def wait_until_gone(observer: Conn, app_name: str, timeout: float = 30) -> None:
    """Wait until no backend is tagged ``app_name`` (its client died or it was ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = observer.execute(
            "select count(*) from pg_stat_activity where application_name = %s", (app_name,)
        ).fetchone()
        observer.rollback()
        if row == (0,):
            return
        time.sleep(0.05)
    raise AssertionError(f"the backend of {app_name} is still there after {timeout} s")


def run_ids(conn: Conn, tenant: uuid.UUID) -> set[uuid.UUID]:
    rows = conn.execute(
        "select run_id from dyno_crm.report_run where tenant_id = %s", (tenant,)
    ).fetchall()
    conn.rollback()
    return {row[0] for row in rows}


def only_new_run(conn: Conn, tenant: uuid.UUID, before: set[uuid.UUID]) -> uuid.UUID:
    new = run_ids(conn, tenant) - before
    assert len(new) == 1, f"expected one new run, found {new}"
    return new.pop()


def assert_failed_cleanly(conn: Conn, run_id: uuid.UUID, reason: str) -> dict[str, Any]:
    """FAILED, with ``reason`` in its message, and not one fact row."""
    run = header(conn, run_id)
    assert run["status"] == "FAILED", run
    assert reason in run["error_message"], run["error_message"]
    assert fact_count(conn, run_id) == 0
    return run


def unique_app_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"
