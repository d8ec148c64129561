"""Every job of the code location.

The report jobs take the report's config on the launchpad; the tenant jobs run partitions
of the scheduled report assets (``tenant_assets``), selected by asset key because those
assets are built from ``refresh.toml`` when the definitions are; ``dbt_build_job`` is the
warehouse refresh; ``deal_retention_job`` (built from ``refresh.toml``, which sets its days)
deletes the deals of old runs.
"""

from typing import Final

import dagster as dg

from orchestration.defs.dbt_assets import dyno_crm_dbt_assets
from orchestration.defs.report_assets import deal_aging_report, deal_win_loss_report
from orchestration.defs.retention import PRUNE_OP, prune_run_deals_op
from orchestration.defs.tenant_assets import (
    TENANT_DEAL_AGING,
    TENANT_DEAL_WIN_LOSS,
    TENANT_DEAL_WIN_LOSS_MONTHLY,
)
from orchestration.refresh.config import RefreshSettings

DEAL_RETENTION_JOB: Final = "deal_retention_job"

deal_win_loss_report_job: Final = dg.define_asset_job(
    "deal_win_loss_report_job",
    selection=dg.AssetSelection.assets(deal_win_loss_report),
    description="Deal Win/Loss for one tenant; give the tenant and filters as run config.",
)

deal_aging_report_job: Final = dg.define_asset_job(
    "deal_aging_report_job",
    selection=dg.AssetSelection.assets(deal_aging_report),
    description="Deal Aging / At-Risk for one tenant; give the tenant and filters as run config.",
)

dbt_build_job: Final = dg.define_asset_job(
    "dbt_build_job",
    # The checks on the source assets too: with every model and every check selected,
    # dagster-dbt runs the whole project (`--select fqn:*`), so the tests over two sources
    # (relationships_within_tenant), which are no asset checks, run as well. Without them it
    # selects models and checks by name and those tests are silently left out.
    selection=dg.AssetSelection.assets(dyno_crm_dbt_assets)
    | dg.AssetSelection.checks(dyno_crm_dbt_assets),
    description="`dbt build`: every model, then every test (asset checks where dbt allows).",
    tags={"dyno/dbt-build": "true"},  # deploy/dagster.yaml: one build at a time
)

tenant_deal_win_loss_job: Final = dg.define_asset_job(
    "tenant_deal_win_loss_job",
    selection=dg.AssetSelection.assets(TENANT_DEAL_WIN_LOSS),
    description="Standard win/loss reports (previous day, week, month) of one tenant partition.",
)

tenant_deal_aging_job: Final = dg.define_asset_job(
    "tenant_deal_aging_job",
    selection=dg.AssetSelection.assets(TENANT_DEAL_AGING),
    description="Standard aging report of one tenant partition.",
)

tenant_reports_job: Final = dg.define_asset_job(
    "tenant_reports_job",
    selection=dg.AssetSelection.assets(TENANT_DEAL_WIN_LOSS, TENANT_DEAL_AGING),
    description=(
        "Both standard reports of a tenant partition, or of a range of tenants in one run"
        " (a backfill over tenants)."
    ),
)

tenant_deal_win_loss_monthly_job: Final = dg.define_asset_job(
    "tenant_deal_win_loss_monthly_job",
    selection=dg.AssetSelection.assets(TENANT_DEAL_WIN_LOSS_MONTHLY),
    description="Win/loss of one (month, tenant) partition; backfills run many of these.",
)

JOBS: Final = [
    deal_win_loss_report_job,
    deal_aging_report_job,
    dbt_build_job,
    tenant_deal_win_loss_job,
    tenant_deal_aging_job,
    tenant_reports_job,
    tenant_deal_win_loss_monthly_job,
]


def deal_retention_job(settings: RefreshSettings) -> dg.JobDefinition:
    """``prune_run_deals``: the deal rows of runs older than ``[retention] deal_days`` go (the
    job's default config; the launchpad can ask for another number of days)."""

    @dg.job(
        name=DEAL_RETENTION_JOB,
        description=(
            "Delete the deal rows of report runs older than [retention] deal_days of"
            " refresh.toml; headers and fact rows are kept."
        ),
        config={"ops": {PRUNE_OP: {"config": {"older_than_days": settings.deal_retention_days}}}},
    )
    def deal_retention() -> None:
        prune_run_deals_op()

    return deal_retention
