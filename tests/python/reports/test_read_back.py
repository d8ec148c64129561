"""Reading a run back after its COMMIT: within the run's own limits, so that a session's
tighter timeout can never turn a stored success into a reported failure (and a retry into a
second run)."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg

from orchestration.db import connect
from orchestration.reports.parameters import RunLimits, WinLossParameters
from orchestration.reports.results import run_report

from conftest import Env
from report_rows import header
from scenarios import Q1_END, Q1_START, WL_TENANT

PARAMS = WinLossParameters.validate(tenant_id=WL_TENANT, period_start=Q1_START, period_end=Q1_END)
HELD_S = 1.5


def hold_pipelines_locked(env: Env, taken: threading.Event) -> None:
    """ACCESS EXCLUSIVE on dyno_crm.pipeline for HELD_S: the read-back's names come through
    the staging view over it, the run's facts do not (they read int_closing_instances)."""
    with connect(env) as conn, conn.transaction():
        conn.execute("lock table dyno_crm.pipeline in access exclusive mode")
        taken.set()
        time.sleep(HELD_S)


def test_a_session_lock_timeout_does_not_fail_a_stored_run(built_env: Env) -> None:
    taken = threading.Event()
    locker = threading.Thread(target=hold_pipelines_locked, args=(built_env, taken))
    # The role's or the session's own bound, as PGOPTIONS="-c lock_timeout=1" sets it.
    conn: psycopg.Connection[Any]
    with connect(built_env, options="-c lock_timeout=1") as conn:
        locker.start()
        assert taken.wait(10)
        started = time.monotonic()
        result = run_report(conn, PARAMS, RunLimits(lock_timeout_ms=30_000))
        waited = time.monotonic() - started
    locker.join()
    assert result.header["status"] == "SUCCEEDED"
    assert result.facts
    assert {row["pipeline_name"] for row in result.facts} != {None}
    # It waited for the lock (within the run's 30 s), where the session's 1 ms would fail.
    assert waited > HELD_S / 2
    with connect(built_env) as check:
        assert header(check, result.run_id)["fact_count"] == len(result.facts)
