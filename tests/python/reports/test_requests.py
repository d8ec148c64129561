"""Exactly once per request_id: a second call returns the stored run, a failed request runs
again, a live one is refused, other parameters are refused; a lost COMMIT retried with the
same id never stores a second run."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from orchestration.db import connect
from orchestration.reports import (
    ReportInputError,
    ReportOutcomeUnknownError,
    ReportRunError,
    RequestInProgressError,
    run_deal_aging_report,
    run_deal_win_loss_report,
    settlement,
)
from orchestration.reports.parameters import WinLossParameters
from orchestration.reports.run_lock import LOCK_NAMESPACE, run_lock_key
from orchestration.settings import MODELS_SCHEMA

from commit_cutter import CommitCutter
from conftest import Env
from report_rows import fact_count, header
from robustness_figures import FIGURES
from scenarios import AG_TENANT, Q1_END, Q1_START, WL_TENANT

Conn = psycopg.Connection[Any]


def runs_of_request(conn: Conn, request_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    rows = conn.execute(
        "select run_id, status from dyno_crm.report_run where request_id = %s"
        " order by generated_at",
        (request_id,),
    ).fetchall()
    conn.rollback()
    return [(row[0], row[1]) for row in rows]


def test_a_second_call_returns_the_stored_run(conn: Conn) -> None:
    request = uuid.uuid4()
    first = run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END, request_id=request)
    again = run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END, request_id=str(request))
    assert again == first
    assert runs_of_request(conn, request) == [(first, "SUCCEEDED")]
    # Aging as of its own start: the second call asks for the same report, gets the same run.
    aging = uuid.uuid4()
    one = run_deal_aging_report(conn, AG_TENANT, 10, request_id=aging)
    assert run_deal_aging_report(conn, AG_TENANT, 10, request_id=aging) == one
    # Without a request id every call is a new run, as before.
    assert run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END) != first


def test_other_parameters_under_the_same_id_are_refused_naming_it(conn: Conn) -> None:
    request = uuid.uuid4()
    run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END, request_id=request)
    others: list[Callable[[], uuid.UUID]] = [
        lambda: run_deal_win_loss_report(
            conn, WL_TENANT, Q1_START, Q1_END, source="web", request_id=request
        ),
        lambda: run_deal_win_loss_report(conn, AG_TENANT, Q1_START, Q1_END, request_id=request),
        lambda: run_deal_aging_report(conn, WL_TENANT, 10, request_id=request),
    ]
    for other in others:
        with pytest.raises(ReportInputError, match=r"^request_id: .* another report or other"):
            other()
    with pytest.raises(ReportInputError, match=r"^request_id: is not a valid UUID"):
        run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END, request_id="run-1")
    assert len(runs_of_request(conn, request)) == 1


def test_a_failed_request_runs_again_and_a_live_one_is_refused(conn: Conn, built_env: Env) -> None:
    request = uuid.uuid4()
    with connect(built_env) as holder:
        holder.execute(f"lock table {MODELS_SCHEMA}.int_closing_instances in access exclusive mode")
        with pytest.raises(ReportRunError, match="lock_timeout_ms=200"):
            run_deal_win_loss_report(
                conn, WL_TENANT, Q1_START, Q1_END, lock_timeout_ms=200, request_id=request
            )
        holder.rollback()
    [(failed, status)] = runs_of_request(conn, request)
    assert status == "FAILED"
    succeeded = run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END, request_id=request)
    assert runs_of_request(conn, request) == [(failed, "FAILED"), (succeeded, "SUCCEEDED")]

    # A run of the request in a live session (its run lock held): refused, nothing written.
    live, live_run = uuid.uuid4(), uuid.uuid4()
    with connect(built_env) as owner:
        owner.execute("select pg_advisory_lock(%s, %s)", (LOCK_NAMESPACE, run_lock_key(live_run)))
        owner.execute(
            "insert into dyno_crm.report_run (run_id, tenant_id, report_type, input_params,"
            " status, request_id) values (%s, %s, 'deal_win_loss', %s, 'IN_PROGRESS', %s)",
            (
                live_run,
                WL_TENANT,
                Jsonb(
                    WinLossParameters.validate(
                        tenant_id=WL_TENANT, period_start=Q1_START, period_end=Q1_END
                    ).input_params(datetime.now(UTC))
                ),
                live,
            ),
        )
        owner.commit()
        with pytest.raises(RequestInProgressError, match=f"already running as run {live_run}"):
            run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END, request_id=live)
        assert runs_of_request(conn, live) == [(live_run, "IN_PROGRESS")]
    # Its session gone (the backend ends a moment after the client closed), recovery fails
    # it, and the request runs.
    rerun = retry_while_in_progress(
        lambda: run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END, request_id=live)
    )
    assert runs_of_request(conn, live) == [(live_run, "FAILED"), (rerun, "SUCCEEDED")]


def test_concurrent_first_calls_store_one_run(built_env: Env) -> None:
    request = uuid.uuid4()
    results: list[uuid.UUID] = []
    errors: list[BaseException] = []

    def call() -> None:
        try:
            with connect(built_env) as own:
                results.append(
                    run_deal_win_loss_report(own, WL_TENANT, Q1_START, Q1_END, request_id=request)
                )
        except RequestInProgressError as error:
            errors.append(error)

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    with connect(built_env) as check:
        stored = runs_of_request(check, request)
    assert [status for _, status in stored] == ["SUCCEEDED"]
    # Each call got the one run, or was told it was running.
    assert set(results) == {stored[0][0]}
    assert len(results) + len(errors) == 4


def retry_while_in_progress(call: Callable[[], uuid.UUID], timeout: float = 30) -> uuid.UUID:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return call()
        except RequestInProgressError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@pytest.mark.parametrize("forward_commit", [False, True], ids=["not-committed", "committed"])
def test_a_lost_commit_retried_with_the_same_request_stores_one_success(
    conn: Conn, built_env: Env, forward_commit: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settlement, "SETTLE_RETRY_S", 0.5)
    request = uuid.uuid4()
    cutter = CommitCutter(built_env, forward_commit=forward_commit, refuse_after_cut=True)
    with (
        cutter,
        connect(built_env, **cutter.client_keywords()) as proxied,
        pytest.raises(ReportOutcomeUnknownError),
    ):
        run_deal_win_loss_report(proxied, WL_TENANT, Q1_START, Q1_END, request_id=request)
    FIGURES.add(runs_attempted=1, faults_injected=1)
    [(lost, _)] = runs_of_request(conn, request)
    # The retry: the database is back, same request id. Until the cut backend notices its
    # client is gone (about a second), its run is live and the request is refused.
    retried = retry_while_in_progress(
        lambda: run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END, request_id=request)
    )
    FIGURES.add(runs_attempted=1, runs_succeeded=1)
    statuses = runs_of_request(conn, request)
    assert [status for _, status in statuses].count("SUCCEEDED") == 1
    if forward_commit:
        assert retried == lost  # it had committed: found, not run again
        assert statuses == [(lost, "SUCCEEDED")]
    else:
        assert retried != lost  # it had not: its dead session's header failed, a new run
        assert header(conn, lost)["status"] == "FAILED"
    assert fact_count(conn, retried) == 3
    assert FIGURES.audit(conn).ok
