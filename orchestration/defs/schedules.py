"""The schedules: ``dbt build`` on the cron set in ``refresh.toml``, and the daily deal
retention (``deal_retention_job``) an hour before the default refresh."""

from typing import Final

from dagster import (
    DefaultScheduleStatus,
    JobDefinition,
    RunRequest,
    ScheduleDefinition,
    ScheduleEvaluationContext,
)

from orchestration.defs.jobs import dbt_build_job
from orchestration.refresh.config import RefreshSettings

REFRESH_SCHEDULE_NAME = "warehouse_refresh_schedule"
RETENTION_SCHEDULE_NAME: Final = "deal_retention_schedule"
# Daily at 05:00 in the refresh's time zone: before the default 06:00 build, so the standard
# reports that follow it never share the deal tables with a long prune.
RETENTION_CRON: Final = "0 5 * * *"


def _refresh_request(context: ScheduleEvaluationContext) -> RunRequest:
    # One run per tick: the run key makes a re-evaluated tick a no-op.
    tick = context.scheduled_execution_time
    return RunRequest(run_key=f"refresh/{tick.isoformat()}")


def _retention_request(context: ScheduleEvaluationContext) -> RunRequest:
    # The job's default config carries the days of refresh.toml; one run per tick.
    tick = context.scheduled_execution_time
    return RunRequest(run_key=f"retention/{tick.isoformat()}")


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


def deal_retention_schedule(settings: RefreshSettings, job: JobDefinition) -> ScheduleDefinition:
    """``job`` (``deal_retention_job`` of ``settings``) daily at 05:00 in the refresh's zone."""
    return ScheduleDefinition(
        name=RETENTION_SCHEDULE_NAME,
        job=job,
        cron_schedule=RETENTION_CRON,
        execution_timezone=settings.timezone,
        execution_fn=_retention_request,
        default_status=DefaultScheduleStatus.RUNNING,
        description=(
            f"Daily: delete the deal rows of report runs older than {settings.deal_retention_days}"
            " days ([retention] deal_days of refresh.toml); headers and fact rows are kept."
        ),
    )
