"""The scheduled reports as partitioned assets: per tenant, and per month x tenant.

Each partition runs the same plain report runner as the ad-hoc config assets (which stay
beside these, unpartitioned, with any filters). Headers carry the Dagster run id, so the
run-health sensors can close them if the run dies. The assets are built from the refresh
settings (``tenant_report_assets``) when the definitions are: the month partitions follow
its time zone, the standard reports its periods, thresholds and breakdown.
"""

import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import dagster as dg
from dagster import AssetExecutionContext

from orchestration.defs.dbt_assets import dbt_asset_key
from orchestration.defs.partitions import (
    MONTH_DIMENSION,
    TENANT_DIMENSION,
    tenant_from_key,
    tenant_month,
    tenant_month_partitions,
    tenant_partitions,
)
from orchestration.defs.report_assets import (
    report_metadata,
    report_session,
    run_once,
    run_step,
    run_summary,
    top_at_risk_deals,
)
from orchestration.defs.resources import PostgresResource
from orchestration.present.columns import Column
from orchestration.present.markdown import markdown_table
from orchestration.refresh.config import RefreshSettings
from orchestration.refresh.standard_reports import standard_aging, standard_win_loss
from orchestration.reports.parameters import ReportParameters, WinLossParameters
from orchestration.reports.results import ReportResult
from orchestration.reports.stored_runs import Row

SCHEDULED_GROUP: Final = "scheduled_reports"
TENANT_DEAL_WIN_LOSS: Final = "tenant_deal_win_loss"
TENANT_DEAL_AGING: Final = "tenant_deal_aging"
TENANT_DEAL_WIN_LOSS_MONTHLY: Final = "tenant_deal_win_loss_monthly"
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


# One run may cover many tenants: a backfill (UI or `dagster asset materialize
# --partition-range`) over the tenant partitions becomes one run that reports every tenant
# in its range through one connection, instead of a run per tenant with its own process
# start and code load. The scheduled refresh still asks for one run per tenant and report,
# so each tenant's run is limited and fails on its own.
TENANT_BACKFILL_POLICY: Final = dg.BackfillPolicy.single_run()
# Dagster 1.13 marks the asset decorator's `backfill_policy` parameter beta and warns on every
# load of the code location (each CLI command, each run); the lock file pins the version whose
# behaviour the tests check, so the warning tells a user nothing.
warnings.filterwarnings(
    "ignore", message="Parameter `backfill_policy` of function `asset`", category=dg.BetaWarning
)


# The report runs a range run's metadata lists (it is copied into every partition's event).
RANGE_PREVIEW_RUNS: Final = 20
RANGE_COLUMNS: Final = (
    Column("tenant", lambda row: row["tenant"], right=False),
    Column("report", lambda row: row["report"], right=False),
    Column("run id", lambda row: row["run"], right=False),
    Column("fact rows", lambda row: row["facts"]),
    Column("deals", lambda row: row["deals"]),
)
# The keys of each report's metadata a single-tenant materialisation carries, prefixed by
# the report's label (``day_run_id``, ``aging_top_at_risk_deals``, ...).
PER_REPORT_KEYS: Final = (
    "run_id",
    "fact_rows",
    "deal_count",
    "breakdown",
    "preview",
    "top_at_risk_deals",
)
# The freshness of the data: once when every report of the tenant read the same build (the
# usual case), else per report.
FRESHNESS_KEYS: Final = ("data_latest_stage_entry", "models_built_at")


# Labelled reports of one tenant for a refresh instant.
ReportsOf = Callable[[uuid.UUID, datetime], Sequence[tuple[str, ReportParameters]]]


@dataclass(frozen=True)
class TenantReport:
    """One stored report of a tenant partition; ``label`` names it among the tenant's reports."""

    tenant: uuid.UUID
    label: str
    result: ReportResult
    at_risk: list[Row] | None = None


def run_tenant_reports(
    context: AssetExecutionContext,
    postgres: PostgresResource,
    reports_of: ReportsOf,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Every report ``reports_of`` names for each tenant of the run's partitions, in order."""
    tenants = [tenant_from_key(key) for key in context.partition_keys]
    refreshed_at = refreshed_at_from_tags(context.run.tags)
    done: list[TenantReport] = []
    with report_session(context, postgres) as conn:
        for tenant in tenants:
            for label, params in reports_of(tenant, refreshed_at):
                result = run_once(context, conn, params, label=f"{tenant}/{label}")
                context.log.info(
                    f"{tenant} {label}: report run {result.run_id}, {run_summary(result)}"
                )
                if len(tenants) == 1:
                    at_risk = top_at_risk_deals(conn, result)
                    done.append(TenantReport(tenant, label, result, at_risk))
                else:
                    # A range keeps each run's header only: its memory grows by a header
                    # per report, not by every tenant's fact rows.
                    kept = ReportResult(header=result.header, facts=[])
                    done.append(TenantReport(tenant, label, kept, None))
    metadata: dict[str, dg.MetadataValue] = {
        "refreshed_at": dg.MetadataValue.text(refreshed_at.isoformat()),
    }
    if len(tenants) == 1:
        metadata["tenant_id"] = dg.MetadataValue.text(str(tenants[0]))
        metadata.update(tenant_metadata(done))
        return dg.MaterializeResult(metadata=metadata)
    metadata.update(range_metadata(tenants, done))
    return dg.MaterializeResult(metadata=metadata)


def range_metadata(
    tenants: Sequence[uuid.UUID], done: Sequence[TenantReport]
) -> dict[str, dg.MetadataValue]:
    """The summary of a run over a range of tenants. Dagster copies a range run's metadata
    into the event of every partition, so it must not grow with the range: counts, and the
    first ``RANGE_PREVIEW_RUNS`` report runs (each tenant's are `dyno-reports runs --tenant
    T`); a table of every run made 10,000 partitions' events 1 MB each."""
    shown = done[:RANGE_PREVIEW_RUNS]
    table = markdown_table(
        [
            {
                "tenant": r.tenant,
                "report": r.label,
                "run": r.result.run_id,
                "facts": r.result.header.get("fact_count"),
                "deals": r.result.header.get("deal_count"),
            }
            for r in shown
        ],
        RANGE_COLUMNS,
    )
    if len(done) > len(shown):
        table += (
            f"\n\n_first {len(shown)} of {len(done)} report runs; a tenant's:"
            " `dyno-reports runs --tenant TENANT_ID`_"
        )
    return {
        "tenants": dg.MetadataValue.int(len(tenants)),
        "report_runs": dg.MetadataValue.int(len(done)),
        "fact_rows": dg.MetadataValue.int(
            sum(r.result.header.get("fact_count") or 0 for r in done)
        ),
        "deal_rows": dg.MetadataValue.int(
            sum(r.result.header.get("deal_count") or 0 for r in done)
        ),
        "runs": dg.MetadataValue.md(table),
    }


def tenant_metadata(done: Sequence[TenantReport]) -> dict[str, dg.MetadataValue]:
    """The reports of one tenant partition: ``PER_REPORT_KEYS`` of each, prefixed by its
    label, and the freshness of the data they read (``FRESHNESS_KEYS``)."""
    metadata: dict[str, dg.MetadataValue] = {}
    freshness: dict[str, dict[str, dg.MetadataValue]] = {key: {} for key in FRESHNESS_KEYS}
    for report in done:
        for name, value in report_metadata(report.result, report.at_risk).items():
            if name in PER_REPORT_KEYS:
                metadata[f"{report.label}_{name}"] = value
            elif name in freshness:
                freshness[name][report.label] = value
    for name, by_label in freshness.items():
        if len({repr(value) for value in by_label.values()}) == 1:
            metadata[name] = next(iter(by_label.values()))
        else:
            metadata.update({f"{label}_{name}": value for label, value in by_label.items()})
    return metadata


def standard_win_loss_of(settings: RefreshSettings) -> ReportsOf:
    """A tenant's standard win/loss reports for a refresh, labelled by period."""

    def reports_of(tenant: uuid.UUID, refreshed_at: datetime) -> list[tuple[str, ReportParameters]]:
        return [
            (item.period_name, item.parameters)
            for item in standard_win_loss(tenant, refreshed_at, settings)
        ]

    return reports_of


def standard_aging_of(settings: RefreshSettings) -> ReportsOf:
    """A tenant's standard aging report for a refresh."""

    def reports_of(tenant: uuid.UUID, refreshed_at: datetime) -> list[tuple[str, ReportParameters]]:
        return [("aging", standard_aging(tenant, refreshed_at, settings))]

    return reports_of


def tenant_report_assets(settings: RefreshSettings) -> list[dg.AssetsDefinition]:
    """The three scheduled report assets, for the refresh ``settings``."""
    win_loss_of = standard_win_loss_of(settings)
    aging_of = standard_aging_of(settings)
    zone = settings.zone

    @dg.asset(
        name=TENANT_DEAL_WIN_LOSS,
        partitions_def=tenant_partitions,
        backfill_policy=TENANT_BACKFILL_POLICY,
        deps=[dbt_asset_key("int_closing_instances")],
        group_name=SCHEDULED_GROUP,
        kinds={"postgres", "python"},
    )
    def tenant_deal_win_loss(
        context: AssetExecutionContext, postgres: PostgresResource
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        """Standard Deal Win/Loss of each tenant: the previous day, ISO week and month,
        unfiltered, broken down by the refresh.toml breakdown (per user by default)."""
        return run_tenant_reports(context, postgres, win_loss_of)

    @dg.asset(
        name=TENANT_DEAL_AGING,
        partitions_def=tenant_partitions,
        backfill_policy=TENANT_BACKFILL_POLICY,
        deps=[dbt_asset_key("int_current_deals")],
        group_name=SCHEDULED_GROUP,
        kinds={"postgres", "python"},
    )
    def tenant_deal_aging(
        context: AssetExecutionContext, postgres: PostgresResource
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        """Standard Deal Aging of each tenant, as of the refresh, thresholds and breakdown from
        refresh.toml."""
        return run_tenant_reports(context, postgres, aging_of)

    @dg.asset(
        name=TENANT_DEAL_WIN_LOSS_MONTHLY,
        partitions_def=tenant_month_partitions(zone),
        deps=[dbt_asset_key("int_closing_instances")],
        group_name=SCHEDULED_GROUP,
        kinds={"postgres", "python"},
    )
    def tenant_deal_win_loss_monthly(
        context: AssetExecutionContext, postgres: PostgresResource
    ) -> dg.MaterializeResult:  # type: ignore[type-arg]
        """Deal Win/Loss of one tenant for one calendar month, unfiltered and without a
        breakdown: for backfills."""
        key = context.partition_key
        assert isinstance(key, dg.MultiPartitionKey)
        dimensions = key.keys_by_dimension
        partition = tenant_month(dimensions[MONTH_DIMENSION], dimensions[TENANT_DIMENSION], zone)
        params = WinLossParameters.validate(
            tenant_id=partition.tenant_id, period_start=partition.start, period_end=partition.end
        )
        return run_step(context, postgres, params)

    return [tenant_deal_win_loss, tenant_deal_aging, tenant_deal_win_loss_monthly]
