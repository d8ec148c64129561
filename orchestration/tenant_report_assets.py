"""The scheduled reports as partitioned assets: per tenant, and per month x tenant.

Each partition runs the same plain report runner as the ad-hoc config assets (which stay
beside these, unpartitioned, with any filters). Headers carry the Dagster run id, so the
run-health sensors can close them if the run dies.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Final

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.assets.dbt import dbt_asset_key
from orchestration.assets.reports import report_metadata, report_session, run_step
from orchestration.partitions import (
    MONTH_DIMENSION,
    MONTH_ZONE,
    TENANT_DIMENSION,
    tenant_from_key,
    tenant_month,
    tenant_month_partitions,
    tenant_partitions,
)
from orchestration.refresh_settings import load_refresh_settings
from orchestration.report_runner import ReportResult, run_report
from orchestration.reports.parameters import WinLossParameters
from orchestration.resources import PostgresResource
from orchestration.standard_reports import standard_reports

SCHEDULED_GROUP: Final = "scheduled_reports"
# Set by standard_reports_sensor on each run it requests: the end of the dbt build the
# reports follow, which fixes their periods and aging instant. A run launched by hand has
# none and reports as of its start.
REFRESHED_AT_TAG: Final = "dyno/refreshed-at"
REFRESH_RUN_TAG: Final = "dyno/refresh-run"


def refreshed_at_from_tags(tags: Mapping[str, str]) -> datetime:
    """The refresh instant a run was requested for; now, for a run launched by hand."""
    text = tags.get(REFRESHED_AT_TAG)
    if text is None:
        return datetime.now(UTC)
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise dg.Failure(description=f"tag {REFRESHED_AT_TAG}: {text!r} has no time zone")
    return value


@dg.asset(
    partitions_def=tenant_partitions,
    deps=[dbt_asset_key("int_closing_instances")],
    group_name=SCHEDULED_GROUP,
    kinds={"postgres", "python"},
)
def tenant_deal_win_loss(
    context: AssetExecutionContext, postgres: PostgresResource
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Standard Deal Win/Loss of one tenant: the previous day, ISO week and month, unfiltered."""
    tenant = tenant_from_key(context.partition_key)
    refreshed_at = refreshed_at_from_tags(context.run.tags)
    reports = standard_reports(tenant, refreshed_at, load_refresh_settings())
    results: dict[str, ReportResult] = {}
    with report_session(context, postgres) as conn:
        for item in reports.win_loss:
            results[item.period_name] = run_report(conn, item.parameters)
    metadata: dict[str, dg.MetadataValue] = {
        "tenant_id": dg.MetadataValue.text(str(tenant)),
        "refreshed_at": dg.MetadataValue.text(refreshed_at.isoformat()),
    }
    for period, result in results.items():
        context.log.info(f"{period}: report run {result.run_id}, {len(result.facts)} fact rows")
        period_metadata = report_metadata(result)
        metadata[f"{period}_run_id"] = period_metadata["run_id"]
        metadata[f"{period}_fact_rows"] = period_metadata["fact_rows"]
        metadata[f"{period}_preview"] = period_metadata["preview"]
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    partitions_def=tenant_partitions,
    deps=[dbt_asset_key("int_current_deals")],
    group_name=SCHEDULED_GROUP,
    kinds={"postgres", "python"},
)
def tenant_deal_aging(
    context: AssetExecutionContext, postgres: PostgresResource
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Standard Deal Aging of one tenant, as of the refresh, thresholds from refresh.toml."""
    tenant = tenant_from_key(context.partition_key)
    refreshed_at = refreshed_at_from_tags(context.run.tags)
    params = standard_reports(tenant, refreshed_at, load_refresh_settings()).aging
    return run_step(context, postgres, params)


@dg.asset(
    partitions_def=tenant_month_partitions,
    deps=[dbt_asset_key("int_closing_instances")],
    group_name=SCHEDULED_GROUP,
    kinds={"postgres", "python"},
)
def tenant_deal_win_loss_monthly(
    context: AssetExecutionContext, postgres: PostgresResource
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Deal Win/Loss of one tenant for one calendar month, unfiltered: for backfills."""
    key = context.partition_key
    assert isinstance(key, dg.MultiPartitionKey)
    dimensions = key.keys_by_dimension
    partition = tenant_month(
        dimensions[MONTH_DIMENSION],
        dimensions[TENANT_DIMENSION],
        MONTH_ZONE,
    )
    params = WinLossParameters.validate(
        tenant_id=partition.tenant_id, period_start=partition.start, period_end=partition.end
    )
    return run_step(context, postgres, params)


tenant_deal_win_loss_job: Final = dg.define_asset_job(
    "tenant_deal_win_loss_job",
    selection=dg.AssetSelection.assets(tenant_deal_win_loss),
    description="Standard win/loss reports (previous day, week, month) of one tenant partition.",
)

tenant_deal_aging_job: Final = dg.define_asset_job(
    "tenant_deal_aging_job",
    selection=dg.AssetSelection.assets(tenant_deal_aging),
    description="Standard aging report of one tenant partition.",
)

tenant_deal_win_loss_monthly_job: Final = dg.define_asset_job(
    "tenant_deal_win_loss_monthly_job",
    selection=dg.AssetSelection.assets(tenant_deal_win_loss_monthly),
    description="Win/loss of one (month, tenant) partition; backfills run many of these.",
)

TENANT_REPORT_ASSETS: Final = [
    tenant_deal_win_loss,
    tenant_deal_aging,
    tenant_deal_win_loss_monthly,
]
TENANT_REPORT_JOBS: Final = [
    tenant_deal_win_loss_job,
    tenant_deal_aging_job,
    tenant_deal_win_loss_monthly_job,
]
