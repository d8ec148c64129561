"""Sensors of the scheduled refresh: tenants, standard reports, and report-run health."""

from typing import Final

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunRequest,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)

from orchestration.jobs import dbt_build_job
from orchestration.partitions import TENANTS_PARTITIONS_NAME, tenant_key, tenant_partitions
from orchestration.refresh_gates import refresh_instant, resource_environment, skip_reason
from orchestration.refresh_settings import load_refresh_settings
from orchestration.reports.runs import recover_stale_runs
from orchestration.resources import PostgresResource
from orchestration.run_health import fail_headers_of_dagster_run
from orchestration.tenant_report_assets import (
    REFRESH_RUN_TAG,
    REFRESHED_AT_TAG,
    tenant_deal_aging_job,
    tenant_deal_win_loss_job,
)
from orchestration.tenants import discover_tenants

# Tenants and stale runs are cheap to look at (an index probe per tenant; a partial index).
DISCOVERY_INTERVAL_S: Final = 300
RECOVERY_INTERVAL_S: Final = 300


def _new_tenant_keys(context: SensorEvaluationContext, postgres: PostgresResource) -> list[str]:
    with postgres.connect() as conn:
        discovered = [tenant_key(tenant) for tenant in discover_tenants(conn)]
    known = set(context.instance.get_dynamic_partitions(TENANTS_PARTITIONS_NAME))
    return [key for key in discovered if key not in known]


@sensor(
    minimum_interval_seconds=DISCOVERY_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Adds every tenant with deals in the warehouse as a `tenants` partition.",
)
def tenant_discovery_sensor(
    context: SensorEvaluationContext, postgres: PostgresResource
) -> SensorResult:
    new = _new_tenant_keys(context, postgres)
    if not new:
        return SensorResult(skip_reason=SkipReason("no new tenants"))
    context.log.info("adding %d tenant partition(s): %s", len(new), ", ".join(new))
    return SensorResult(dynamic_partitions_requests=[tenant_partitions.build_add_request(new)])


@run_status_sensor(
    run_status=DagsterRunStatus.SUCCESS,
    monitored_jobs=[dbt_build_job],
    request_jobs=[tenant_deal_win_loss_job, tenant_deal_aging_job],
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "After a successful dbt build: unless a dbt test failed or a source is stale, one run"
        " per tenant and report of the standard reports."
    ),
)
def standard_reports_sensor(
    context: RunStatusSensorContext, postgres: PostgresResource
) -> SensorResult | SkipReason:
    dbt_run_id = context.dagster_run.run_id
    reason = skip_reason(
        context.instance, dbt_run_id, load_refresh_settings(), resource_environment(postgres)
    )
    if reason is not None:
        context.log.warning(reason)
        return SkipReason(reason)
    refreshed_at = refresh_instant(context.instance, dbt_run_id).isoformat()
    with postgres.connect() as conn:
        tenants = [tenant_key(tenant) for tenant in discover_tenants(conn)]
    known = set(context.instance.get_dynamic_partitions(TENANTS_PARTITIONS_NAME))
    new = [key for key in tenants if key not in known]
    requests = [
        RunRequest(
            run_key=f"{dbt_run_id}/{job.name}/{tenant}",
            job_name=job.name,
            partition_key=tenant,
            tags={
                REFRESHED_AT_TAG: refreshed_at,
                REFRESH_RUN_TAG: dbt_run_id,
            },
        )
        for tenant in tenants
        for job in (tenant_deal_win_loss_job, tenant_deal_aging_job)
    ]
    # New tenants become partitions in the same tick, before its run requests are launched.
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[tenant_partitions.build_add_request(new)] if new else [],
    )


def _fail_headers(
    context: RunStatusSensorContext, postgres: PostgresResource, reason: str
) -> SkipReason:
    dagster_run_id = context.dagster_run.run_id
    with postgres.connect() as conn:
        failed = fail_headers_of_dagster_run(conn, dagster_run_id, reason)
    if failed:
        context.log.warning(
            "run %s: marked report runs FAILED: %s", dagster_run_id, ", ".join(map(str, failed))
        )
        return SkipReason(f"marked {len(failed)} report run(s) of {dagster_run_id} FAILED")
    return SkipReason(f"run {dagster_run_id} left no report run IN_PROGRESS")


@run_failure_sensor(
    default_status=DefaultSensorStatus.RUNNING,
    description="Marks FAILED the report_run headers a failed run left IN_PROGRESS.",
)
def report_run_failure_sensor(
    context: RunFailureSensorContext, postgres: PostgresResource
) -> SkipReason:
    message = context.failure_event.message or "the run failed"
    return _fail_headers(context, postgres, message)


@run_status_sensor(
    run_status=DagsterRunStatus.CANCELED,
    default_status=DefaultSensorStatus.RUNNING,
    description="Marks FAILED the report_run headers a canceled run left IN_PROGRESS.",
)
def report_run_canceled_sensor(
    context: RunStatusSensorContext, postgres: PostgresResource
) -> SkipReason:
    return _fail_headers(context, postgres, "the run was canceled")


@sensor(
    minimum_interval_seconds=RECOVERY_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="recover_stale_runs: FAILED for IN_PROGRESS headers whose session is gone.",
)
def stale_report_run_sensor(
    context: SensorEvaluationContext, postgres: PostgresResource
) -> SkipReason:
    with postgres.connect() as conn:
        recovered = recover_stale_runs(conn)
    if recovered:
        context.log.warning("marked stale report runs FAILED: %s", ", ".join(map(str, recovered)))
        return SkipReason(f"marked {len(recovered)} stale report run(s) FAILED")
    return SkipReason("no stale report runs")


REFRESH_SENSORS = [
    tenant_discovery_sensor,
    standard_reports_sensor,
    report_run_failure_sensor,
    report_run_canceled_sensor,
    stale_report_run_sensor,
]
