"""Whether the standard reports may follow a dbt build run: checks and source freshness."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from dagster import AssetCheckEvaluation, AssetCheckSeverity, DagsterEventType, DagsterInstance

from orchestration.defs.resources import PostgresResource
from orchestration.refresh.config import RefreshSettings
from orchestration.settings import pg_environment
from orchestration.warehouse.freshness import SourceFreshness, check_source_freshness, stale_reason

FreshnessCheck = Callable[[Mapping[str, str]], list[SourceFreshness]]


def resource_environment(postgres: PostgresResource) -> dict[str, str]:
    """The ``PG*`` variables reaching the resource's database, for dbt."""
    pinned = {
        "PGHOST": postgres.host,
        "PGPORT": None if postgres.port is None else str(postgres.port),
        "PGUSER": postgres.user,
        "PGPASSWORD": postgres.password,
        "PGDATABASE": postgres.dbname,
    }
    return {
        **pg_environment(),
        **{name: value for name, value in pinned.items() if value is not None},
    }


def failed_checks(instance: DagsterInstance, run_id: str) -> list[str]:
    """The asset checks (dbt tests) that failed with severity error in ``run_id``, by name."""
    records = instance.get_records_for_run(
        run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    failed = set()
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = None if event is None else event.event_specific_data
        if (
            isinstance(evaluation, AssetCheckEvaluation)
            and not evaluation.passed
            and evaluation.severity == AssetCheckSeverity.ERROR
        ):
            failed.add(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
    return sorted(failed)


def refresh_instant(instance: DagsterInstance, run_id: str) -> datetime:
    """When the dbt build run ended: the instant its models describe."""
    record = instance.get_run_record_by_id(run_id)
    ended = None if record is None else (record.end_time or record.start_time)
    return datetime.now(UTC) if ended is None else datetime.fromtimestamp(ended, UTC)


def skip_reason(
    instance: DagsterInstance,
    dbt_run_id: str,
    settings: RefreshSettings,
    environ: Mapping[str, str],
    freshness: FreshnessCheck = check_source_freshness,
) -> str | None:
    """Why the reports must not follow ``dbt_run_id``, or None when they may.

    Checks first (cheap, from Dagster's event log), then ``dbt source freshness``.
    """
    failed = failed_checks(instance, dbt_run_id)
    if failed:
        shown = ", ".join(failed[:10]) + (
            f" and {len(failed) - 10} more" if len(failed) > 10 else ""
        )
        return f"dbt tests failed in run {dbt_run_id}, reports skipped: {shown}"
    if settings.skip_when_sources_stale:
        return stale_reason(freshness(environ))
    return None
