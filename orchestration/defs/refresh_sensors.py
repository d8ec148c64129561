"""Sensors of the scheduled refresh: tenants become partitions, and the standard reports
follow each successful dbt build."""

from collections.abc import Sequence
from typing import Final

from dagster import (
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_status_sensor,
    sensor,
)

from orchestration.defs.jobs import dbt_build_job, tenant_deal_aging_job, tenant_deal_win_loss_job
from orchestration.defs.partitions import TENANTS_PARTITIONS_NAME, tenant_key, tenant_partitions
from orchestration.defs.refresh_gates import refresh_instant, resource_environment, skip_reason
from orchestration.defs.resources import PostgresResource
from orchestration.defs.tenant_assets import REFRESH_RUN_TAG, REFRESHED_AT_TAG
from orchestration.refresh.config import RefreshSettings
from orchestration.refresh.tenants import discover_tenants

# Tenants are cheap to look at (an index probe per tenant).
DISCOVERY_INTERVAL_S: Final = 300


def warehouse_tenants(
    instance: DagsterInstance, postgres: PostgresResource
) -> tuple[list[str], list[str]]:
    """The partition keys of every tenant with deals, and those not yet a partition."""
    with postgres.connect() as conn:
        tenants = [tenant_key(tenant) for tenant in discover_tenants(conn)]
    known = set(instance.get_dynamic_partitions(TENANTS_PARTITIONS_NAME))
    return tenants, [key for key in tenants if key not in known]


@sensor(
    minimum_interval_seconds=DISCOVERY_INTERVAL_S,
    default_status=DefaultSensorStatus.RUNNING,
    description="Adds every tenant with deals in the warehouse as a `tenants` partition.",
)
def tenant_discovery_sensor(
    context: SensorEvaluationContext, postgres: PostgresResource
) -> SensorResult:
    _, new = warehouse_tenants(context.instance, postgres)
    if not new:
        return SensorResult(skip_reason=SkipReason("no new tenants"))
    context.log.info("adding %d tenant partition(s): %s", len(new), ", ".join(new))
    return SensorResult(dynamic_partitions_requests=[tenant_partitions.build_add_request(new)])


def standard_reports_sensor(settings: RefreshSettings) -> SensorDefinition:
    """The sensor that requests the standard reports after a build, gated by ``settings``."""

    @run_status_sensor(
        name="standard_reports_sensor",
        run_status=DagsterRunStatus.SUCCESS,
        monitored_jobs=[dbt_build_job],
        request_jobs=[tenant_deal_win_loss_job, tenant_deal_aging_job],
        default_status=DefaultSensorStatus.RUNNING,
        description=(
            "After a successful dbt build: unless a dbt test failed or a source is stale, one"
            " run per tenant and report of the standard reports."
        ),
    )
    def standard_reports(
        context: RunStatusSensorContext, postgres: PostgresResource
    ) -> SensorResult | SkipReason:
        dbt_run_id = context.dagster_run.run_id
        reason = skip_reason(context.instance, dbt_run_id, settings, resource_environment(postgres))
        if reason is not None:
            context.log.warning(reason)
            return SkipReason(reason)
        refreshed_at = refresh_instant(context.instance, dbt_run_id).isoformat()
        tenants, new = warehouse_tenants(context.instance, postgres)
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
        # New tenants become partitions in the same tick, before its run requests launch.
        return SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[tenant_partitions.build_add_request(new)] if new else [],
        )

    return standard_reports


def refresh_sensors(settings: RefreshSettings) -> Sequence[SensorDefinition]:
    return [tenant_discovery_sensor, standard_reports_sensor(settings)]
