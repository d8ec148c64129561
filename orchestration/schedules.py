"""The warehouse refresh schedule: ``dbt build`` on the cron set in ``refresh.toml``."""

from dagster import DefaultScheduleStatus, RunRequest, ScheduleDefinition, ScheduleEvaluationContext

from orchestration.jobs import dbt_build_job
from orchestration.refresh_settings import load_refresh_settings


def _refresh_request(context: ScheduleEvaluationContext) -> RunRequest:
    # One run per tick: the run key makes a re-evaluated tick a no-op.
    tick = context.scheduled_execution_time
    return RunRequest(run_key=f"refresh/{tick.isoformat()}")


def build_refresh_schedule() -> ScheduleDefinition:
    settings = load_refresh_settings()
    return ScheduleDefinition(
        name="warehouse_refresh_schedule",
        job=dbt_build_job,
        cron_schedule=settings.cron,
        execution_timezone=settings.timezone,
        execution_fn=_refresh_request,
        default_status=DefaultScheduleStatus.RUNNING,
        description=(
            "dbt build (models and tests) on the cron of orchestration/refresh.toml;"
            " standard_reports_sensor follows each successful build."
        ),
    )


warehouse_refresh_schedule = build_refresh_schedule()
