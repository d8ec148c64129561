"""The warehouse refresh schedule: ``dbt build`` on the cron set in ``refresh.toml``."""

from dagster import DefaultScheduleStatus, RunRequest, ScheduleDefinition, ScheduleEvaluationContext

from orchestration.defs.jobs import dbt_build_job
from orchestration.refresh.config import RefreshSettings

REFRESH_SCHEDULE_NAME = "warehouse_refresh_schedule"


def _refresh_request(context: ScheduleEvaluationContext) -> RunRequest:
    # One run per tick: the run key makes a re-evaluated tick a no-op.
    tick = context.scheduled_execution_time
    return RunRequest(run_key=f"refresh/{tick.isoformat()}")


def warehouse_refresh_schedule(settings: RefreshSettings) -> ScheduleDefinition:
    """``dbt_build_job`` on the refresh's cron, in its time zone."""
    return ScheduleDefinition(
        name=REFRESH_SCHEDULE_NAME,
        job=dbt_build_job,
        cron_schedule=settings.cron,
        execution_timezone=settings.timezone,
        execution_fn=_refresh_request,
        default_status=DefaultScheduleStatus.RUNNING,
        description=(
            "dbt build (models and tests) on the cron of orchestration/refresh/refresh.toml;"
            " standard_reports_sensor follows each successful build."
        ),
    )
