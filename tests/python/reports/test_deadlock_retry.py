"""A deadlock against a run's facts transaction is retried inside the run, not reported as a
failed report: another session takes two of the run's tables in the opposite order."""

from __future__ import annotations

import threading
from typing import Any

import psycopg

from orchestration.db import connect
from orchestration.reports import run_deal_win_loss_report
from orchestration.settings import MODELS_SCHEMA

from conftest import Env
from fault_tools import PARKED_IN_FINISH, unique_app_name, wait_until_parked
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

    def report() -> None:
        # This session detects the cycle first (50 ms), so it is the deadlock's victim.
        with connect(built_env, application_name=app, options="-c deadlock_timeout=50") as own:
            try:
                outcome["run_id"] = run_deal_win_loss_report(own, WL_TENANT, Q1_START, Q1_END)
            except BaseException as error:
                outcome["error"] = error

    def crossing(other: Conn) -> None:
        # Against the order: the model the run reads last (int_tenants, in its finish),
        # then the fact table the run has written; both given back at once, as soon as the
        # run's wait is broken.
        try:
            other.execute("lock table dyno_crm.report_deal_win_loss_fact in share mode")
        finally:
            other.rollback()

    with (
        connect(built_env, options="-c deadlock_timeout=10000") as other,
        connect(built_env) as observer,
    ):
        # Park the run in its finish: it holds the fact table, waits for int_tenants.
        other.execute(f"lock table {MODELS_SCHEMA}.int_tenants in access exclusive mode")
        runner = threading.Thread(target=report)
        runner.start()
        wait_until_parked(observer, app, PARKED_IN_FINISH)
        crosser = threading.Thread(target=crossing, args=(other,))
        crosser.start()  # waits for the fact table: a cycle, which the run's session breaks
        runner.join(timeout=60)
        crosser.join(timeout=60)
    FIGURES.add(runs_attempted=1, faults_injected=1)
    assert "error" not in outcome, outcome.get("error")
    FIGURES.add(runs_succeeded=1)
    run = header(conn, outcome["run_id"])
    assert run["status"] == "SUCCEEDED"
    assert facts(conn, outcome["run_id"]) == quiet
    assert FIGURES.audit(conn).ok


# A serialization failure on the first header insert only (a sequence counts the inserts:
# unlike a table it is not rolled back with the failed transaction): PostgreSQL's own error,
# raised where a real one would be, without a race to stage.
_FAIL_FIRST_HEADER = """
create sequence dyno_crm.test_header_inserts;
create function dyno_crm.test_fail_first_header() returns trigger language plpgsql as $$
begin
    if nextval('dyno_crm.test_header_inserts') = 1 then
        raise exception 'could not serialize access (planted)'
            using errcode = 'serialization_failure';
    end if;
    return new;
end
$$;
create trigger test_fail_first_header before insert on dyno_crm.report_run
for each row execute function dyno_crm.test_fail_first_header();
"""


def test_a_serialization_failure_of_the_header_is_retried_with_the_run_lock_taken_once(
    conn: Conn, built_env: Env
) -> None:
    quiet = facts(conn, run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END))
    with connect(built_env) as planter:
        planter.execute(_FAIL_FIRST_HEADER)
        planter.commit()
        try:
            run_id = run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END)
            inserts = planter.execute(
                "select last_value from dyno_crm.test_header_inserts"
            ).fetchone()
        finally:
            planter.rollback()
            planter.execute(
                "drop trigger test_fail_first_header on dyno_crm.report_run;"
                " drop function dyno_crm.test_fail_first_header();"
                " drop sequence dyno_crm.test_header_inserts;"
            )
            planter.commit()
    assert inserts == (2,)  # the failed insert, then the retried one
    FIGURES.add(runs_attempted=1, faults_injected=1, runs_succeeded=1)
    assert header(conn, run_id)["status"] == "SUCCEEDED"
    assert facts(conn, run_id) == quiet
    # The run lock was given back exactly once: this session holds no advisory lock now.
    held = conn.execute(
        "select count(*) from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()"
    ).fetchone()
    conn.rollback()
    assert held == (0,)
    assert FIGURES.audit(conn).ok
