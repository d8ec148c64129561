"""A deadlock against a run's facts transaction is retried inside the run, not reported as a
failed report: another session takes the run's two tables in the opposite order."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg

from orchestration.db import connect
from orchestration.reports import run_deal_win_loss_report
from orchestration.settings import MODELS_SCHEMA

from conftest import Env
from fault_tools import PARKED_IN_FACTS, unique_app_name, wait_until_parked
from report_rows import facts, header
from robustness_figures import FIGURES
from scenarios import Q1_END, Q1_START, WL_TENANT

Conn = psycopg.Connection[Any]


def test_a_deadlock_in_the_facts_transaction_is_retried_and_the_run_succeeds(
    conn: Conn, built_env: Env
) -> None:
    quiet = facts(conn, run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END))
    app = unique_app_name("deadlock")
    outcome: dict[str, Any] = {}
    crossing_waits = threading.Event()

    def report() -> None:
        # This session detects the cycle first (50 ms), so it is the deadlock's victim.
        with connect(built_env, application_name=app, options="-c deadlock_timeout=50") as own:
            try:
                outcome["run_id"] = run_deal_win_loss_report(own, WL_TENANT, Q1_START, Q1_END)
            except BaseException as error:
                outcome["error"] = error

    def crossing(other: Conn) -> None:
        # Against the order: report_run first, then the fact table (which the parked run
        # holds); then give both back at once, as soon as the run's wait is broken.
        with other.transaction():
            other.execute("lock table dyno_crm.report_run in share mode")
            crossing_waits.set()
            other.execute("lock table dyno_crm.report_deal_win_loss_fact in share mode")

    with (
        connect(built_env) as parker,
        connect(built_env, options="-c deadlock_timeout=10000") as other,
        connect(built_env) as observer,
    ):
        # Park the run in its facts statement: it holds the fact table, waits for the model.
        parker.execute(f"lock table {MODELS_SCHEMA}.int_closing_instances in access exclusive mode")
        runner = threading.Thread(target=report)
        runner.start()
        wait_until_parked(observer, app, PARKED_IN_FACTS)
        crosser = threading.Thread(target=crossing, args=(other,))
        crosser.start()
        assert crossing_waits.wait(10)
        wait_for_lock_wait(observer, other.info.backend_pid)
        parker.rollback()  # the run goes on, inserts, then waits for report_run: a cycle
        runner.join(timeout=60)
        crosser.join(timeout=60)
    FIGURES.add(runs_attempted=1, faults_injected=1)
    assert "error" not in outcome, outcome.get("error")
    FIGURES.add(runs_succeeded=1)
    run = header(conn, outcome["run_id"])
    assert run["status"] == "SUCCEEDED"
    assert facts(conn, outcome["run_id"]) == quiet
    assert FIGURES.audit(conn).ok


def wait_for_lock_wait(observer: Conn, pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = observer.execute(
            "select wait_event_type from pg_stat_activity where pid = %s", (pid,)
        ).fetchone()
        observer.rollback()
        if row == ("Lock",):
            return
        time.sleep(0.02)
    raise AssertionError(f"backend {pid} never waited for its lock")
