"""deploy/dagster.yaml used for real, as docs/deployment.md sets it up: Dagster's storage in a
PostgreSQL database of its own, ``dagster-webserver`` and ``dagster-daemon run`` as separate
processes with the queued run coordinator. Every event, run and tick is read back from that
database with plain SQL, not through Dagster."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import pytest

from orchestration.db import connect
from orchestration.defs.report_assets import deal_win_loss_report
from orchestration.defs.resources import PostgresResource
from orchestration.demo.sample_data import sample_tenants
from orchestration.demo.walkthrough import demo_until
from orchestration.refresh.config import SETTINGS_ENV
from orchestration.reports.dagster_runs import headers_of_dagster_run
from orchestration.settings import PROJECT_DIR

from conftest import Env, create_database, create_demo_database, drop_database
from dagster_ui import DagsterUi, free_port, stop_group

pytestmark = [pytest.mark.dagster, pytest.mark.slow]

T = TypeVar("T")
LOCATION = "dyno_crm_reports"
STARTUP_TIMEOUT_S = 300
RUN_TIMEOUT_S = 300
# The refresh every minute, so that the daemon's scheduler ticks while the test watches.
EVERY_MINUTE_REFRESH = """
[refresh]
cron = "* * * * *"
timezone = "UTC"
skip_when_sources_stale = true

[aging]
threshold_days = 14
cycle_threshold_days = 90
"""


@pytest.fixture(scope="module")
def warehouse(server_env: Env) -> Iterator[Env]:
    """A warehouse of its own: the daemon's scheduled refresh rebuilds it and reports on it."""
    env = create_demo_database(server_env, "dyno_test_production")
    yield env
    drop_database(server_env, env)


@pytest.fixture
def dagster_storage(server_env: Env) -> Iterator[Env]:
    env = create_database(server_env, "dyno_test_dagster_storage")
    yield env
    drop_database(server_env, env)


def production_environment(storage: Env, warehouse: Env, home: Path) -> dict[str, str]:
    """The variables docs/deployment.md sets: DAGSTER_HOME, DAGSTER_PG_* and the warehouse's PG*."""
    host = storage["PGHOST"]
    return {
        "DAGSTER_HOME": str(home),
        # A unix-socket directory cannot be a URL's host: left empty, libpq takes PGHOST.
        "DAGSTER_PG_HOST": "" if host.startswith("/") else host,
        "DAGSTER_PG_PORT": storage["PGPORT"],
        "DAGSTER_PG_USER": storage["PGUSER"],
        "DAGSTER_PG_PASSWORD": storage.get("PGPASSWORD", ""),
        "DAGSTER_PG_DB": storage["PGDATABASE"],
        SETTINGS_ENV: str(home / "refresh.toml"),
        **warehouse,
    }


@contextmanager
def started(
    command: str, args: list[str], env: Mapping[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """One of the virtualenv's Dagster commands, from the project folder, in its own group."""
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our virtualenv's command, fixed arguments
            [str(Path(sys.executable).with_name(command)), *args],
            cwd=PROJECT_DIR,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process
    finally:
        stop_group(process)


def storage_rows(storage: Env, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with connect(storage) as conn, conn.cursor() as cur:
        return cur.execute(query, params).fetchall()


def event_types(storage: Env, run_id: str) -> list[str]:
    """The run's events as Dagster wrote them to the event_logs table, in order."""
    rows = storage_rows(
        storage,
        "select dagster_event_type from event_logs"
        " where run_id = %s and dagster_event_type is not null order by id",
        (run_id,),
    )
    return [row[0] for row in rows]


def ticks(storage: Env, name: str) -> list[dict[str, Any]]:
    """The recorded ticks of the schedule or sensor ``name``: each ``job_ticks.tick_body``
    (Dagster's serialised TickData, whose stored field names predate its renames), with its
    status as plain text."""
    rows = storage_rows(storage, "select tick_body from job_ticks order by id")
    found = []
    for (text,) in rows:
        body = json.loads(text)
        if body.get("job_name", body.get("instigator_name")) == name:
            status = body.get("status")
            if isinstance(status, dict):  # {"__enum__": "TickStatus.SUCCESS"}
                status = str(status.get("__enum__", "")).rpartition(".")[2]
            found.append({**body, "status": status})
    return found


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, log: Path) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(2)
    tail = "\n".join(log.read_text(errors="replace").splitlines()[-60:])
    raise AssertionError(f"no {what} after {timeout:.0f} s; the daemon's log ends:\n{tail}")


def test_the_production_instance_records_runs_schedules_and_sensors_in_postgres(
    warehouse: Env, dagster_storage: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_DIR / "deploy" / "dagster.yaml", home / "dagster.yaml")
    (home / "refresh.toml").write_text(EVERY_MINUTE_REFRESH)
    env = production_environment(dagster_storage, warehouse, home)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    tenant = sample_tenants()[0]

    # 1. A materialisation in this process, through the instance the file configures.
    with dg.DagsterInstance.get() as instance:
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        result = dg.materialize(
            [deal_win_loss_report],
            instance=instance,
            resources={"postgres": PostgresResource.from_environment(warehouse)},
            run_config={
                "ops": {
                    "deal_win_loss_report": {
                        "config": {
                            "tenant_id": str(tenant.id),
                            "period_start": "2020-01-01",
                            "period_end": demo_until().isoformat(),
                        }
                    }
                }
            },
        )
    assert result.success
    in_process = event_types(dagster_storage, result.run_id)
    assert in_process.count("ASSET_MATERIALIZATION") == 1
    assert in_process[-1] == "PIPELINE_SUCCESS"

    # 2. The two production processes, started as the deployment guide says.
    port = free_port()
    daemon_log = home / "daemon.log"
    with ExitStack() as processes:
        webserver = processes.enter_context(
            started(
                "dagster-webserver",
                ["-h", "127.0.0.1", "-p", str(port)],
                env,
                home / "webserver.log",
            )
        )
        processes.enter_context(started("dagster-daemon", ["run"], env, daemon_log))
        ui = DagsterUi(
            url=f"http://127.0.0.1:{port}", process=webserver, log=home / "webserver.log"
        )
        assert LOCATION in ui.wait_until_loaded(STARTUP_TIMEOUT_S)

        # 3. A run launched through GraphQL: queued, then dequeued and run by the daemon.
        run_id = ui.launch_run(
            LOCATION,
            "deal_aging_report_job",
            {
                "ops": {
                    "deal_aging_report": {
                        "config": {
                            "tenant_id": str(tenant.id),
                            "threshold_days": 14,
                            "period_end": demo_until().isoformat(),
                        }
                    }
                }
            },
        )
        assert ui.wait_for_run(run_id, RUN_TIMEOUT_S) == "SUCCESS", daemon_log.read_text()

        # 4. A schedule tick (the refresh's cron is every minute here) and its dbt build run,
        #    and sensor ticks: tenant discovery, and the standard reports after the build.
        [scheduled] = wait_for(
            "warehouse_refresh_schedule tick with a run",
            lambda: [
                tick
                for tick in ticks(dagster_storage, "warehouse_refresh_schedule")
                if tick.get("run_ids")
            ][:1],
            STARTUP_TIMEOUT_S,
            daemon_log,
        )
        [dbt_run_id] = scheduled["run_ids"][:1]
        assert ui.wait_for_run(dbt_run_id, RUN_TIMEOUT_S) == "SUCCESS", daemon_log.read_text()
        discovery = wait_for(
            "tenant_discovery_sensor tick",
            lambda: ticks(dagster_storage, "tenant_discovery_sensor"),
            STARTUP_TIMEOUT_S,
            daemon_log,
        )
        reports = wait_for(
            "standard_reports_sensor tick with runs",
            lambda: [
                tick
                for tick in ticks(dagster_storage, "standard_reports_sensor")
                if tick.get("run_ids")
            ][:1],
            RUN_TIMEOUT_S,
            daemon_log,
        )

    assert {tick["status"] for tick in discovery} <= {"SUCCESS", "SKIPPED"}
    assert scheduled["status"] == "SUCCESS"
    [reports_tick] = reports
    # One run per tenant and standard report job, requested in one tick.
    assert len(reports_tick["run_ids"]) == 2 * len(sample_tenants())

    # 5. Read back from Dagster's database: the queued run's whole life, and its report.
    life = event_types(dagster_storage, run_id)
    # Queued by the webserver, launched by the daemon's run queue (STARTING), then run.
    lifecycle = [
        e for e in life if e in ("PIPELINE_ENQUEUED", "PIPELINE_STARTING", "PIPELINE_START")
    ]
    assert lifecycle == ["PIPELINE_ENQUEUED", "PIPELINE_STARTING", "PIPELINE_START"], life
    assert life.count("ASSET_MATERIALIZATION") == 1
    assert "PIPELINE_SUCCESS" in life
    assert "PIPELINE_FAILURE" not in life
    statuses = dict(
        storage_rows(
            dagster_storage,
            "select run_id, status from runs where run_id = any(%s)",
            ([result.run_id, run_id, dbt_run_id],),
        )
    )
    assert statuses == {result.run_id: "SUCCESS", run_id: "SUCCESS", dbt_run_id: "SUCCESS"}
    dbt_events = event_types(dagster_storage, dbt_run_id)
    assert "ASSET_MATERIALIZATION" in dbt_events
    assert "ASSET_CHECK_EVALUATION" in dbt_events
    with connect(warehouse) as conn:
        assert [status for _, _, status in headers_of_dagster_run(conn, run_id)] == ["SUCCEEDED"]
