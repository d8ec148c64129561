"""Jobs: one per report (launchpad config = the report's config), and the dbt build."""

from typing import Final

import dagster as dg

from orchestration.assets.dbt import dyno_crm_dbt_assets
from orchestration.assets.reports import deal_aging_report, deal_win_loss_report

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

JOBS: Final = [deal_win_loss_report_job, deal_aging_report_job, dbt_build_job]
