"""The scheduled refresh ticked in-process: schedule, sensors, and the runs they request.

On the demo's sample data (three tenants, a year of deals ending today) in a database of
its own: the schedule's tick runs the real dbt build job, the standard-reports sensor's
tick requests the partitioned report runs, and those run for real, in Dagster and in
PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import psycopg
import pytest
from dagster import DagsterEventType, DagsterInstance, RunRequest, SensorResult, SkipReason

from orchestration.db import connect
from orchestration.definitions import defs
from orchestration.defs.partitions import TENANTS_PARTITIONS_NAME
from orchestration.defs.refresh_gates import failed_checks, refresh_instant
from orchestration.defs.refresh_sensors import tenant_discovery_sensor
from orchestration.defs.resources import PostgresResource
from orchestration.defs.tenant_assets import REFRESHED_AT_TAG
from orchestration.demo.sample_data import load_sample_data, sample_tenants
from orchestration.demo.walkthrough import demo_until
from orchestration.refresh.calendar import standard_periods
from orchestration.refresh.config import load_refresh_settings
from orchestration.warehouse.crm_batch import CrmBatch, StageEntry
from orchestration.warehouse.storage import create_source_tables, ensure_report_storage

from conftest import Env, create_database, drop_database

pytestmark = pytest.mark.dagster

TENANTS = sorted(str(tenant.id) for tenant in sample_tenants())
standard_reports_sensor = defs.resolve_sensor_def("standard_reports_sensor")
warehouse_refresh_schedule = defs.resolve_schedule_def("warehouse_refresh_schedule")


@dataclass
class Refresh:
    env: Env
    instance: DagsterInstance
    dbt_run: dg.DagsterRun
    tick_time: datetime


def execute(instance: DagsterInstance, request: RunRequest, default_job: str) -> dg.DagsterRun:
    """What the daemon does with a run request, in this process."""
    job = defs.resolve_job_def(request.job_name or default_job)
    result = job.execute_in_process(
        instance=instance,
        partition_key=request.partition_key,
        tags=request.tags,
        raise_on_error=False,
    )
    return result.dagster_run


def run_status_context(
    instance: DagsterInstance, run: dg.DagsterRun, env: Env, event_type: DagsterEventType
) -> dg.RunStatusSensorContext:
    [record] = instance.get_records_for_run(run.run_id, of_type=event_type).records
    event = record.event_log_entry.dagster_event
    assert event is not None
    return dg.build_run_status_sensor_context(
        sensor_name="standard_reports_sensor",
        dagster_event=event,
        dagster_instance=instance,
        dagster_run=run,
        resources={"postgres": PostgresResource.from_environment(env)},
    )


def reports_tick(refresh: Refresh, run: dg.DagsterRun | None = None) -> SensorResult | SkipReason:
    context = run_status_context(
        refresh.instance,
        run or refresh.dbt_run,
        refresh.env,
        DagsterEventType.RUN_SUCCESS if run is None else DagsterEventType.RUN_FAILURE,
    )
    result = standard_reports_sensor(context)
    assert isinstance(result, SensorResult | SkipReason)
    return result


@pytest.fixture(scope="module")
def refresh(server_env: Env) -> Iterator[Refresh]:
    """A demo database, and one tick of the refresh schedule run to completion."""
    env = create_database(server_env, "dyno_test_refresh")
    with pytest.MonkeyPatch.context() as patch:
        # The code location's resources (dbt's profile, PostgresResource) read PG*.
        for key, value in env.items():
            patch.setenv(key, value)
        with connect(env) as conn:
            create_source_tables(conn)
            ensure_report_storage(conn)
            load_sample_data(conn, until=demo_until())
        instance = DagsterInstance.ephemeral()
        tick_time = datetime.now(UTC).replace(microsecond=0)
        context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick_time)
        requests = warehouse_refresh_schedule.evaluate_tick(context).run_requests
        assert requests is not None
        [request] = requests
        assert request.run_key == f"refresh/{tick_time.isoformat()}"
        dbt_run = execute(instance, request, "dbt_build_job")
        assert dbt_run.status == dg.DagsterRunStatus.SUCCESS
        assert dbt_run.tags["dyno/dbt-build"] == "true"
        yield Refresh(env=env, instance=instance, dbt_run=dbt_run, tick_time=tick_time)
    drop_database(server_env, env)


def successful_headers(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    with conn.transaction():
        return conn.execute(
            "select tenant_id::text, report_type, period_start, period_end, dagster_run_id"
            " from dyno_crm.report_run where status = 'SUCCEEDED'"
            " order by tenant_id, report_type, period_start"
        ).fetchall()


def test_one_tick_produces_exactly_one_succeeded_run_per_tenant_and_report(
    refresh: Refresh,
) -> None:
    result = reports_tick(refresh)
    assert isinstance(result, SensorResult)
    # The tenants are discovered in the same tick, before its runs are requested.
    [add] = result.dynamic_partitions_requests or []
    assert sorted(add.partition_keys) == TENANTS
    requests: Sequence[RunRequest] = result.run_requests or []
    assert sorted((r.job_name, r.partition_key) for r in requests) == sorted(
        (job, tenant)
        for tenant in TENANTS
        for job in ("tenant_deal_aging_job", "tenant_deal_win_loss_job")
    )
    # A re-evaluated tick asks for the same run keys, which Dagster launches only once.
    again = reports_tick(refresh)
    assert isinstance(again, SensorResult)
    assert sorted(r.run_key or "" for r in again.run_requests or []) == sorted(
        r.run_key or "" for r in requests
    )

    refresh.instance.add_dynamic_partitions(TENANTS_PARTITIONS_NAME, add.partition_keys)
    runs = [execute(refresh.instance, request, "") for request in requests]
    assert [run.status for run in runs] == [dg.DagsterRunStatus.SUCCESS] * len(TENANTS) * 2

    refreshed_at = refresh_instant(refresh.instance, refresh.dbt_run.run_id)
    assert {run.tags[REFRESHED_AT_TAG] for run in runs} == {refreshed_at.isoformat()}
    periods = standard_periods(refreshed_at, load_refresh_settings().zone)
    dagster_runs = {run.run_id for run in runs}
    with connect(refresh.env) as conn:
        headers = successful_headers(conn)
    expected: list[tuple[str, str, datetime | None, datetime]] = []
    for tenant in TENANTS:
        expected.append((tenant, "deal_aging", None, refreshed_at))
        expected.extend((tenant, "deal_win_loss", p.start, p.end) for p in periods)
    assert sorted((h[0], h[1], h[2], h[3]) for h in headers) == sorted(
        expected, key=lambda row: (row[0], row[1], row[2] or datetime.min.replace(tzinfo=UTC))
    )
    assert {h[4] for h in headers} == dagster_runs


def test_a_new_tenant_becomes_a_partition_at_the_next_discovery_tick(refresh: Refresh) -> None:
    resources = {"postgres": PostgresResource.from_environment(refresh.env)}
    instance = DagsterInstance.ephemeral()
    first = tenant_discovery_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    assert isinstance(first, SensorResult)
    [add] = first.dynamic_partitions_requests or []
    assert sorted(add.partition_keys) == TENANTS
    instance.add_dynamic_partitions(TENANTS_PARTITIONS_NAME, add.partition_keys)

    quiet = tenant_discovery_sensor(dg.build_sensor_context(instance=instance, resources=resources))
    assert isinstance(quiet, SensorResult)
    assert quiet.skip_reason is not None
    assert not quiet.dynamic_partitions_requests

    newcomer = uuid.uuid4()
    batch = CrmBatch()
    batch.deal(newcomer, pipeline_id=None, created_at=datetime.now(UTC))
    with connect(refresh.env) as conn:
        batch.write(conn)
    try:
        after = tenant_discovery_sensor(
            dg.build_sensor_context(instance=instance, resources=resources)
        )
        assert isinstance(after, SensorResult)
        [added] = after.dynamic_partitions_requests or []
        assert list(added.partition_keys) == [str(newcomer)]
    finally:
        with connect(refresh.env) as conn:
            conn.execute("delete from dyno_crm.deal where tenant_id = %s", (newcomer,))
            conn.commit()


def test_stale_sources_skip_the_reports_with_the_reason(refresh: Refresh) -> None:
    shift = timedelta(days=30)
    with connect(refresh.env) as conn:
        # Every source row 30 days older: the newest stage entry is past dbt's error_after.
        conn.execute(
            "update dyno_crm.deal_pipeline_stage_state"
            " set entered_at = entered_at - %(s)s, exited_at = exited_at - %(s)s",
            {"s": shift},
        )
        conn.execute("update dyno_crm.deal set created_at = created_at - %s", (shift,))
        conn.commit()
    try:
        result = reports_tick(refresh)
    finally:
        with connect(refresh.env) as conn:
            conn.execute(
                "update dyno_crm.deal_pipeline_stage_state"
                " set entered_at = entered_at + %(s)s, exited_at = exited_at + %(s)s",
                {"s": shift},
            )
            conn.execute("update dyno_crm.deal set created_at = created_at + %s", (shift,))
            conn.commit()
    assert isinstance(result, SkipReason)
    assert result.skip_message is not None
    assert result.skip_message.startswith("sources are stale, reports skipped:")
    assert "dyno_crm.deal_pipeline_stage_state: error" in result.skip_message


def build_with_defect(refresh: Refresh, batch: CrmBatch) -> dg.DagsterRun:
    """The dbt build job over the sources plus ``batch``'s stage entries, removed afterwards."""
    with connect(refresh.env) as conn:
        batch.write(conn)
    defects = [row[0] for row in batch.rows["deal_pipeline_stage_state"]]
    try:
        return execute(refresh.instance, RunRequest(), "dbt_build_job")
    finally:
        with connect(refresh.env) as conn:
            conn.execute(
                "delete from dyno_crm.deal_pipeline_stage_state where id = any(%s)", (defects,)
            )
            conn.commit()


def test_a_failed_dbt_test_blocks_the_reports(refresh: Refresh) -> None:
    tenant = uuid.UUID(TENANTS[0])
    with connect(refresh.env) as conn:
        # The demo's DDL enforces one current stage per deal with an index; a warehouse need
        # not, and then only the dbt source test stands guard. This database is the test's.
        conn.execute("drop index dyno_crm.ux_dpss_one_current_per_deal")
        row = conn.execute(
            "select deal_id, pipeline_id, pipeline_stage_id from dyno_crm.deal_pipeline_stage_state"
            " where tenant_id = %s and is_current limit 1",
            (tenant,),
        ).fetchone()
        conn.commit()
        assert row is not None
    batch = CrmBatch()
    # A second current stage for one deal: the source test one_current_stage_per_deal fails.
    batch.entry(
        tenant,
        row[0],
        StageEntry(row[2], row[1], datetime.now(UTC) - timedelta(hours=1)),
        is_current=True,
    )
    build = build_with_defect(refresh, batch)
    # dbt exits non-zero on a failed test, so the build run fails and the run-status sensor,
    # which fires on success only, does not fire at all. The gate itself also refuses it,
    # for a build that succeeded with a failed check (e.g. when dbt errors are tolerated).
    assert build.status == dg.DagsterRunStatus.FAILURE
    failed = failed_checks(refresh.instance, build.run_id)
    assert failed == ["dyno_crm/deal_pipeline_stage_state:one_current_stage_per_deal"]
    result = reports_tick(refresh, build)
    assert isinstance(result, SkipReason)
    assert result.skip_message is not None
    assert result.skip_message.startswith(f"dbt tests failed in run {build.run_id}")
    assert "one_current_stage_per_deal" in result.skip_message


def test_a_failed_cross_source_test_fails_the_dbt_build_job(refresh: Refresh) -> None:
    """Tests over two sources are no asset checks, yet the Dagster build runs them too."""
    tenant, other = (uuid.UUID(t) for t in TENANTS[:2])
    with connect(refresh.env) as conn:
        foreign_deal = conn.execute(
            "select id from dyno_crm.deal where tenant_id = %s limit 1", (other,)
        ).fetchone()
        stage = conn.execute(
            "select id, pipeline_id from dyno_crm.pipeline_stage where tenant_id = %s limit 1",
            (tenant,),
        ).fetchone()
        conn.commit()
    assert foreign_deal is not None
    assert stage is not None
    batch = CrmBatch()
    # A past stage entry, in a stage of its own tenant, of a deal that exists in the other
    # tenant only: ids are unique per tenant, so relationships_within_tenant fails.
    entered = datetime.now(UTC) - timedelta(days=2)
    batch.entry(
        tenant,
        foreign_deal[0],
        StageEntry(stage[0], stage[1], entered),
        exited_at=entered + timedelta(hours=1),
        is_current=False,
    )
    build = build_with_defect(refresh, batch)
    assert build.status == dg.DagsterRunStatus.FAILURE
    failures = [
        record.event_log_entry.dagster_event.event_specific_data
        for record in refresh.instance.get_records_for_run(
            build.run_id, of_type=DagsterEventType.STEP_FAILURE
        ).records
        if record.event_log_entry.dagster_event is not None
    ]
    assert "relationships_within_tenant" in repr(failures)
    # No report follows a failed build: the sensor fires on success only.
