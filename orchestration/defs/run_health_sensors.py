"""Sensors that keep ``report_run`` honest when a Dagster run dies (see
``orchestration.reports.dagster_runs``): failed and canceled runs, and stale runs."""

from typing import Final

from dagster import (
    DagsterRunStatus,
    DefaultSensorStatus,
    RunFailureSensorContext,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    run_status_sensor,
    sensor,
)

from orchestration.defs.resources import PostgresResource
from orchestration.reports.dagster_runs import fail_headers_of_dagster_run
from orchestration.reports.recovery import recover_stale_runs

# Stale runs are cheap to look at (a partial index).
RECOVERY_INTERVAL_S: Final = 300


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


RUN_HEALTH_SENSORS: Final = [
    report_run_failure_sensor,
    report_run_canceled_sensor,
    stale_report_run_sensor,
]
