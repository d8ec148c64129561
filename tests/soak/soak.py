"""Soak: report runs mixed with kills, dropped connections, lock timeouts, bad inputs and dbt
builds for SOAK_MINUTES (default 5), then the same figures as the test suite.

    make soak                    # 5 minutes, on the PG* server or an embedded PostgreSQL 18
    SOAK_MINUTES=1 make soak

It creates its own database (``robustness_soak_<hex>``) with the test scenarios, builds the
dbt project there and drops it at the end. Every action is chosen at random (seeded by
SOAK_SEED, default the time); kills and terminations hit runs at random moments, not at
prepared points. At the end it waits for killed backends to go, lets recovery run, audits
the storage, and compares every SUCCEEDED run's facts with the same report in quiet time.
Exit status 1 if any run lost or orphaned a fact row or a header stayed IN_PROGRESS.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from orchestration.db import connect
from orchestration.demo.embedded_postgres import start_embedded_postgres
from orchestration.reports import (
    ReportInputError,
    ReportRunError,
    recover_stale_runs,
    run_deal_aging_report,
    run_deal_win_loss_report,
)
from orchestration.settings import MODELS_SCHEMA, PROJECT_DIR, pg_environment
from orchestration.warehouse.build import build_reports_database
from orchestration.warehouse.crm_batch import CrmBatch
from orchestration.warehouse.dbt_cli import run_dbt
from orchestration.warehouse.storage import create_source_tables, ensure_report_storage

import scenarios
from conftest import create_database, drop_database
from fault_tools import aging_job, run_job, spawn_child, unique_app_name, win_loss_job
from report_rows import facts
from robustness_figures import RobustnessFigures

Env = dict[str, str]
Conn = psycopg.Connection[Any]
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR_END = datetime(2026, 1, 1, tzinfo=UTC)
JOBS = [
    win_loss_job(scenarios.WL_TENANT, scenarios.Q1_START, scenarios.Q1_END),
    win_loss_job(scenarios.RANDOM_TENANT, YEAR_START, YEAR_END),
    win_loss_job(scenarios.TWIN_B, scenarios.Q1_START, scenarios.Q1_END),
    aging_job(scenarios.AG_TENANT, 10, scenarios.AG_AS_OF),
    aging_job(scenarios.RANDOM_TENANT, 7, YEAR_END),
]
BAD_INPUTS: list[dict[str, Any]] = [
    {"tenant_id": "1' or '1'='1"},
    {"tenant_id": "x" * 10_000},
    {"pipeline_id": "\x00"},
    {"principal_type": "ADMIN", "principal_id": uuid.uuid4()},
    {"principal_type": "USER"},
    {"source": "web\x00"},
    {"source": "s" * 10_000},
    {"period_start": scenarios.Q1_END, "period_end": scenarios.Q1_START},
    {"period_start": datetime(2025, 1, 1)},
    {"lock_timeout_ms": 0},
    {"statement_timeout_ms": -5},
]
DBT_BUILD_EVERY_S = 90


def job_key(report_type: str, tenant: uuid.UUID, input_params: dict[str, Any]) -> str:
    return json.dumps([report_type, str(tenant), input_params], sort_keys=True, default=str)


class Soak:
    def __init__(self, env: Env, rng: random.Random) -> None:
        self.env = env
        self.rng = rng
        self.figures = RobustnessFigures()
        self.errors: list[str] = []

    def action(self, conn: Conn) -> None:
        roll = self.rng.random()
        if roll < 0.45:
            self.plain_run(conn)
        elif roll < 0.65:
            self.killed_child()
        elif roll < 0.8:
            self.terminated_run(conn)
        elif roll < 0.9:
            self.bad_input(conn)
        else:
            self.lock_timeout(conn)

    def plain_run(self, conn: Conn) -> None:
        self.figures.add(runs_attempted=1)
        run_job(conn, self.rng.choice(JOBS))

    def killed_child(self) -> None:
        app_name = unique_app_name("soak-kill")
        child = spawn_child(self.env, app_name, self.rng.choice(JOBS))
        # Python start-up and imports take about half a second: kill before, during or after.
        time.sleep(self.rng.uniform(0.2, 1.2))
        finished_first = child.poll() is not None
        child.send_signal(signal.SIGKILL)
        child.wait()
        self.figures.add(runs_attempted=1, faults_injected=0 if finished_first else 1)

    def terminated_run(self, conn: Conn) -> None:
        app_name = unique_app_name("soak-drop")
        job = self.rng.choice(JOBS)
        errors: list[BaseException] = []

        def run() -> None:
            # The termination may hit the connection while it is being opened, too.
            try:
                with connect(self.env, application_name=app_name) as own:
                    run_job(own, job)
            except psycopg.OperationalError:
                pass  # the fault itself; its outcome is checked at the end
            except BaseException as error:
                errors.append(error)

        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(self.rng.uniform(0, 0.05))
        ended = conn.execute(
            "select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity"
            " where application_name = %s",
            (app_name,),
        ).fetchone()
        conn.commit()
        worker.join()
        self.figures.add(runs_attempted=1, faults_injected=1 if ended == (1,) else 0)
        self.errors.extend(f"terminated run raised {error!r}" for error in errors)

    def bad_input(self, conn: Conn) -> None:
        override = self.rng.choice(BAD_INPUTS)
        reports: list[Callable[..., uuid.UUID]] = [run_deal_win_loss_report, run_deal_aging_report]
        report = self.rng.choice(reports)
        base: dict[str, Any] = (
            {
                "tenant_id": scenarios.WL_TENANT,
                "period_start": scenarios.Q1_START,
                "period_end": scenarios.Q1_END,
            }
            if report is run_deal_win_loss_report
            else {"tenant_id": scenarios.WL_TENANT, "threshold_days": 5}
        )
        if report is run_deal_aging_report and "source" in override:
            override = {"threshold_days": -1}
        try:
            report(conn, **{**base, **override})
        except ReportInputError:
            self.figures.add(bad_inputs_tried=1)
        else:
            self.errors.append(f"bad input accepted: {override!r}")

    def lock_timeout(self, conn: Conn) -> None:
        self.figures.add(runs_attempted=1, faults_injected=1)
        with connect(self.env) as holder:
            holder.execute(
                f"lock table {MODELS_SCHEMA}.int_closing_instances in access exclusive mode"
            )
            try:
                run_job_with_timeout(conn, self.rng.choice(JOBS[:3]))
            except ReportRunError as error:
                if "lock_timeout_ms" not in str(error):
                    self.errors.append(f"unexpected run error: {error}")
            else:
                self.errors.append("a run read a model locked in access exclusive mode")


def run_job_with_timeout(conn: Conn, job: dict[str, Any]) -> uuid.UUID:
    return run_deal_win_loss_report(
        conn,
        job["tenant"],
        datetime.fromisoformat(job["start"]),
        datetime.fromisoformat(job["end"]),
        lock_timeout_ms=200,
    )


def wait_for_backends_to_go(conn: Conn, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute(
            "select count(*) from pg_stat_activity where application_name like 'soak-%'"
        ).fetchone()
        conn.commit()
        if row == (0,):
            return
        time.sleep(0.2)


def settle_and_count(conn: Conn, soak: Soak, quiet: dict[str, list[Any]]) -> None:
    wait_for_backends_to_go(conn)
    recover_stale_runs(conn)
    runs = conn.execute(
        "select run_id, tenant_id, report_type, status, input_params from dyno_crm.report_run"
    ).fetchall()
    conn.commit()
    figures = soak.figures
    for run_id, tenant, report_type, status, input_params in runs:
        if status == "SUCCEEDED":
            key = job_key(report_type, tenant, input_params)
            if key in quiet:  # the quiet-time runs themselves included
                figures.compare_facts(quiet[key], facts(conn, run_id))
            figures.add(runs_succeeded=1)
        elif status == "FAILED":
            if facts(conn, run_id):
                figures.add(fact_rows_orphaned=len(facts(conn, run_id)))
            else:
                figures.add(runs_failed_cleanly=1)
    # Runs killed before their header was written failed cleanly too: they left nothing.
    figures.add(runs_failed_cleanly=max(0, figures.runs_attempted - len(runs)))
    figures.audit(conn)


def prepare(server: Env) -> Env:
    env = create_database(server, "robustness_soak")
    with connect(env) as conn:
        create_source_tables(conn)
        ensure_report_storage(conn)
        batch = CrmBatch()
        scenarios.load_all(batch, now=datetime.now(UTC))
        batch.write(conn)
    run_dbt(["build"], environ=env)
    return env


def dagster_dbt_build(env: dict[str, str]) -> None:
    """The Dagster dbt build job, in this process, on the soak's database."""
    import dagster as dg  # noqa: PLC0415 - only the soak's build thread needs Dagster

    from orchestration.defs.definitions import defs  # noqa: PLC0415
    from orchestration.defs.resources import PostgresResource  # noqa: PLC0415

    # The dbt resource reads PG* from the process environment: the soak's own database.
    os.environ.update(env)
    result = defs.resolve_job_def("dbt_build_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        resources={"postgres": PostgresResource.from_environment(env)},
        raise_on_error=False,
    )
    if not result.success:
        raise RuntimeError(f"dbt_build_job failed in run {result.run_id}")


def main() -> int:
    minutes = float(os.environ.get("SOAK_MINUTES", "5"))
    seed = int(os.environ.get("SOAK_SEED", str(time.time_ns())))
    if os.environ.get("PGHOST"):
        server = pg_environment()
    else:
        server = start_embedded_postgres(PROJECT_DIR / ".dyno" / "pgdata-soak", keep_running=False)
    env = prepare(server)
    print(f"soak: {minutes} min, seed {seed}, database {env['PGDATABASE']}", flush=True)
    soak = Soak(env, random.Random(seed))
    builds: list[str] = []
    stop = threading.Event()

    def build_loop() -> None:
        # Both kinds of build in turn: `dyno-reports build` (storage step, build lock, dbt)
        # and the Dagster dbt build job (build lock, dagster-dbt), as production mixes them.
        kinds = itertools.cycle(("dyno-reports build", "dbt_build_job"))
        while not stop.wait(DBT_BUILD_EVERY_S):
            kind = next(kinds)
            try:
                if kind == "dyno-reports build":
                    build_reports_database(env)
                else:
                    dagster_dbt_build(env)
            except Exception as error:  # a failed build is a finding, not the soak's end
                soak.errors.append(f"{kind} failed: {error}")
                continue
            builds.append(f"{kind} {datetime.now(UTC).isoformat()}")

    builder = threading.Thread(target=build_loop, daemon=True)
    try:
        with connect(env) as conn:
            quiet: dict[str, list[Any]] = {}
            for job in JOBS:
                run_id = run_job(conn, job)
                row = conn.execute(
                    "select tenant_id, report_type, input_params from dyno_crm.report_run"
                    " where run_id = %s",
                    (run_id,),
                ).fetchone()
                conn.commit()
                assert row is not None
                quiet[job_key(row[1], row[0], row[2])] = facts(conn, run_id)
                soak.figures.add(runs_attempted=1)
            builder.start()
            deadline = time.monotonic() + minutes * 60
            while time.monotonic() < deadline:
                soak.action(conn)
            stop.set()
            builder.join()
            settle_and_count(conn, soak, quiet)
    finally:
        stop.set()
        drop_database(server, env)
    print(f"builds during the soak: {len(builds)} ({', '.join(b.split(' 2')[0] for b in builds)})")
    for line in soak.figures.lines():
        print(line)
    for error in soak.errors:
        print(f"ERROR: {error}")
    figures = soak.figures
    bad = figures.fact_rows_lost + figures.fact_rows_orphaned + figures.headers_left_in_progress
    return 1 if bad or soak.errors else 0


if __name__ == "__main__":
    sys.exit(main())
