"""Faults in the middle of real runs: killed processes, dropped connections, a lost COMMIT,
lock waits and statement timeouts. After each: no orphan facts, nothing left IN_PROGRESS,
and the next run works."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from typing import Any

import psycopg
import pytest

from orchestration.db import connect
from orchestration.reports import (
    ReportOutcomeUnknownError,
    ReportRunError,
    recover_stale_run_details,
    recover_stale_runs,
    run_deal_aging_report,
    run_deal_win_loss_report,
    settlement,
)
from orchestration.reports.audit import audit_report_runs
from orchestration.reports.run_lock import LOCK_NAMESPACE, run_lock_key
from orchestration.settings import MODELS_SCHEMA

from commit_cutter import CommitCutter
from conftest import Env
from fault_tools import (
    PARKED_IN_FACTS,
    PARKED_IN_FINISH,
    PARKED_IN_RECOVERY,
    assert_failed_cleanly,
    only_new_run,
    run_ids,
    spawn_win_loss,
    unique_app_name,
    wait_until_gone,
    wait_until_parked,
)
from report_rows import fact_count, facts, header
from robustness_figures import FIGURES
from scenarios import Q1_END, Q1_START, WL_TENANT

Conn = psycopg.Connection[Any]
FACT_TABLE = "dyno_crm.report_deal_win_loss_fact"


class Parking:
    """Holds locks so that a win/loss run of WL_TENANT stops at a chosen point."""

    def __init__(self, env: Env, point: str) -> None:
        self.env = env
        self.point = point
        self.holders: list[Conn] = []

    def __enter__(self) -> Parking:
        first = self._holder()
        if self.point == PARKED_IN_RECOVERY:
            first.execute("lock table dyno_crm.report_run in exclusive mode")
        else:
            first.execute(f"lock table {FACT_TABLE} in exclusive mode")
        return self

    def park(self, observer: Conn, app_name: str, before: set[uuid.UUID]) -> int:
        """Wait until the run is parked at the point; for the finish point, move it there."""
        if self.point != PARKED_IN_FINISH:
            return wait_until_parked(observer, app_name, self.point)
        wait_until_parked(observer, app_name, PARKED_IN_FACTS)
        run_id = only_new_run(observer, WL_TENANT, before)
        # Lock the run's header, then let the facts through: the run has inserted its facts
        # (uncommitted) and waits to set SUCCEEDED.
        self._holder().execute(
            "select from dyno_crm.report_run where run_id = %s for no key update", (run_id,)
        )
        self.holders[0].rollback()
        return wait_until_parked(observer, app_name, PARKED_IN_FINISH)

    def release(self) -> None:
        for holder in self.holders:
            if not holder.closed:
                holder.rollback()

    def __exit__(self, *exc: object) -> None:
        for holder in self.holders:
            holder.close()

    def _holder(self) -> Conn:
        holder = connect(self.env)
        self.holders.append(holder)
        return holder


POINTS = [PARKED_IN_RECOVERY, PARKED_IN_FACTS, PARKED_IN_FINISH]


@pytest.mark.parametrize("point", POINTS, ids=["before-header", "before-facts", "facts-written"])
def test_a_killed_process_leaves_no_facts_and_recovery_marks_its_run_failed(
    conn: Conn, built_env: Env, point: str
) -> None:
    before = run_ids(conn, WL_TENANT)
    app_name = unique_app_name("kill")
    with Parking(built_env, point) as parking:
        child = spawn_win_loss(built_env, app_name, WL_TENANT, Q1_START, Q1_END)
        parking.park(conn, app_name, before)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
        FIGURES.add(runs_attempted=1, faults_injected=1)
        parking.release()
    wait_until_gone(conn, app_name)
    if point == PARKED_IN_RECOVERY:
        assert run_ids(conn, WL_TENANT) == before  # killed before its header: nothing written
        FIGURES.add(runs_failed_cleanly=1)
    else:
        run_id = only_new_run(conn, WL_TENANT, before)
        assert header(conn, run_id)["status"] == "IN_PROGRESS"
        assert fact_count(conn, run_id) == 0  # facts uncommitted died with the backend
        assert audit_report_runs(conn).stuck_runs >= 1
        recovered = {run.run_id: run for run in recover_stale_run_details(conn)}
        assert recovered[run_id].tenant_id == WL_TENANT
        assert recovered[run_id].report_type == "deal_win_loss"
        assert recovered[run_id].age.total_seconds() > 0
        assert_failed_cleanly(conn, run_id, "stale run")
        FIGURES.add(runs_failed_cleanly=1)
    assert FIGURES.audit(conn).ok


def test_the_next_run_recovers_a_killed_run_by_itself(conn: Conn, built_env: Env) -> None:
    before = run_ids(conn, WL_TENANT)
    app_name = unique_app_name("kill")
    with Parking(built_env, PARKED_IN_FACTS) as parking:
        child = spawn_win_loss(built_env, app_name, WL_TENANT, Q1_START, Q1_END)
        parking.park(conn, app_name, before)
        child.kill()
        child.wait(timeout=30)
        FIGURES.add(runs_attempted=1, faults_injected=1)
    wait_until_gone(conn, app_name)
    killed = only_new_run(conn, WL_TENANT, before)
    next_run = run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END)
    FIGURES.add(runs_attempted=1, runs_succeeded=1)
    assert_failed_cleanly(conn, killed, "stale run")
    FIGURES.add(runs_failed_cleanly=1)
    assert header(conn, next_run)["status"] == "SUCCEEDED"
    assert fact_count(conn, next_run) == 3
    assert FIGURES.audit(conn).ok


@pytest.mark.parametrize("point", [PARKED_IN_FACTS, PARKED_IN_FINISH], ids=["facts", "finish"])
def test_a_dropped_connection_fails_the_run_through_a_fresh_connection(
    conn: Conn, built_env: Env, point: str
) -> None:
    before = run_ids(conn, WL_TENANT)
    app_name = unique_app_name("drop")
    outcome: dict[str, Any] = {}

    def run() -> None:
        with connect(built_env, application_name=app_name) as own:
            try:
                outcome["run_id"] = run_deal_win_loss_report(own, WL_TENANT, Q1_START, Q1_END)
            except psycopg.Error as error:
                outcome["error"] = error

    with Parking(built_env, point) as parking:
        worker = threading.Thread(target=run)
        worker.start()
        pid = parking.park(conn, app_name, before)
        conn.execute("select pg_terminate_backend(%s)", (pid,))
        conn.rollback()
        FIGURES.add(runs_attempted=1, faults_injected=1)
        parking.release()
        worker.join(timeout=60)
    assert isinstance(outcome.get("error"), psycopg.OperationalError), outcome
    run_id = only_new_run(conn, WL_TENANT, before)
    assert_failed_cleanly(conn, run_id, "terminating connection")
    FIGURES.add(runs_failed_cleanly=1)
    # No repair needed: the next run succeeds with the usual facts.
    next_run = run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END)
    FIGURES.add(runs_attempted=1, runs_succeeded=1)
    assert fact_count(conn, next_run) == 3
    assert FIGURES.audit(conn).ok


def test_a_commit_lost_before_the_server_got_it_fails_the_run(conn: Conn, built_env: Env) -> None:
    before = run_ids(conn, WL_TENANT)
    with CommitCutter(built_env, forward_commit=False) as cutter:
        with (
            connect(built_env, **cutter.client_keywords()) as proxied,
            pytest.raises(psycopg.OperationalError),
        ):
            run_deal_win_loss_report(proxied, WL_TENANT, Q1_START, Q1_END)
        assert cutter.cuts == 1
    FIGURES.add(runs_attempted=1, faults_injected=1)
    run_id = only_new_run(conn, WL_TENANT, before)
    assert_failed_cleanly(conn, run_id, "OperationalError")
    FIGURES.add(runs_failed_cleanly=1)
    assert FIGURES.audit(conn).ok


def test_a_commit_that_reached_the_server_is_reported_as_success(
    conn: Conn, built_env: Env
) -> None:
    """The client's connection died during COMMIT, but the server committed: the API
    re-reads the header through a fresh connection and returns the run as SUCCEEDED."""
    with CommitCutter(built_env, forward_commit=True) as cutter:
        with connect(built_env, **cutter.client_keywords()) as proxied:
            run_id = run_deal_win_loss_report(proxied, WL_TENANT, Q1_START, Q1_END)
            assert proxied.broken
        assert cutter.cuts == 1
    FIGURES.add(runs_attempted=1, faults_injected=1, runs_succeeded=1)
    assert header(conn, run_id)["status"] == "SUCCEEDED"
    expected = facts(conn, run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END))
    FIGURES.add(runs_attempted=1, runs_succeeded=1)
    actual = facts(conn, run_id)
    FIGURES.compare_facts(expected, actual)
    assert actual == expected
    assert FIGURES.audit(conn).ok


@pytest.mark.parametrize("forward_commit", [False, True], ids=["not-committed", "committed"])
def test_a_lost_commit_with_the_database_unreachable_is_reported_as_unknown(
    conn: Conn, built_env: Env, forward_commit: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not an OperationalError (on which a retry policy would run it again, duplicating a run
    that may have succeeded), but an error naming the run to check."""
    monkeypatch.setattr(settlement, "SETTLE_RETRY_S", 0.5)
    before = run_ids(conn, WL_TENANT)
    cutter = CommitCutter(built_env, forward_commit=forward_commit, refuse_after_cut=True)
    with (
        cutter,
        connect(built_env, **cutter.client_keywords()) as proxied,
        pytest.raises(ReportOutcomeUnknownError, match="may have SUCCEEDED") as raised,
    ):
        run_deal_win_loss_report(proxied, WL_TENANT, Q1_START, Q1_END)
    FIGURES.add(runs_attempted=1, faults_injected=1)
    assert not isinstance(raised.value, psycopg.OperationalError)
    run_id = only_new_run(conn, WL_TENANT, before)
    assert raised.value.run_id == run_id
    if forward_commit:
        assert header(conn, run_id)["status"] == "SUCCEEDED"
        assert fact_count(conn, run_id) == 3
        FIGURES.add(runs_succeeded=1)
    else:
        wait_until_lock_free(conn, run_id)
        assert run_id in recover_stale_runs(conn)
        assert_failed_cleanly(conn, run_id, "stale run")
        FIGURES.add(runs_failed_cleanly=1)
    assert FIGURES.audit(conn).ok


def wait_until_lock_free(conn: Conn, run_id: uuid.UUID, timeout: float = 30) -> None:
    """The cut backend ends when it notices its client is gone (within about a second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "select count(*) from pg_locks where locktype = 'advisory' and objsubid = 2"
            " and classid::bigint = %s and objid::bigint = %s::bigint & 4294967295",
            (LOCK_NAMESPACE, run_lock_key(run_id)),
        ).fetchone()
        conn.rollback()
        if row == (0,):
            return
        time.sleep(0.05)
    raise AssertionError(f"the lock of run {run_id} is still held")


def test_a_lock_wait_ends_the_run_failed_within_lock_timeout(conn: Conn, built_env: Env) -> None:
    before = run_ids(conn, WL_TENANT)
    with connect(built_env) as holder:
        holder.execute(f"lock table {MODELS_SCHEMA}.int_closing_instances in access exclusive mode")
        started = time.monotonic()
        with pytest.raises(ReportRunError, match=r"lock_timeout_ms=300 \(canceling statement"):
            run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END, lock_timeout_ms=300)
        elapsed = time.monotonic() - started
    FIGURES.add(runs_attempted=1, faults_injected=1)
    assert elapsed < 5
    assert_failed_cleanly(conn, only_new_run(conn, WL_TENANT, before), "lock timeout")
    FIGURES.add(runs_failed_cleanly=1)
    assert FIGURES.audit(conn).ok


def test_a_slow_statement_ends_the_run_failed_within_statement_timeout(
    conn: Conn, built_env: Env
) -> None:
    before = run_ids(conn, WL_TENANT)
    with connect(built_env) as holder:
        holder.execute(f"lock table {MODELS_SCHEMA}.int_current_deals in access exclusive mode")
        started = time.monotonic()
        with pytest.raises(ReportRunError, match="statement_timeout_ms=400"):
            run_deal_aging_report(
                conn, WL_TENANT, 5, lock_timeout_ms=60_000, statement_timeout_ms=400
            )
        elapsed = time.monotonic() - started
    FIGURES.add(runs_attempted=1, faults_injected=1)
    assert elapsed < 5
    assert_failed_cleanly(conn, only_new_run(conn, WL_TENANT, before), "statement timeout")
    FIGURES.add(runs_failed_cleanly=1)
    # The limits were local to the run's transactions: the session keeps its own settings.
    row = conn.execute("select current_setting('statement_timeout')").fetchone()
    conn.rollback()
    assert row == ("0",)
    assert FIGURES.audit(conn).ok


def test_a_locked_header_table_ends_the_run_before_its_header_within_lock_timeout(
    conn: Conn, built_env: Env
) -> None:
    before = run_ids(conn, WL_TENANT)
    with connect(built_env) as holder:
        holder.execute("lock table dyno_crm.report_run in exclusive mode")
        with pytest.raises(ReportRunError, match="lock_timeout_ms=200"):
            run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END, lock_timeout_ms=200)
    FIGURES.add(runs_attempted=1, faults_injected=1, runs_failed_cleanly=1)
    assert run_ids(conn, WL_TENANT) == before  # stopped in recovery: nothing written
    assert FIGURES.audit(conn).ok
