"""The core of the code location: dbt assets, report assets, their jobs and resources.

A function, not a module-level ``Definitions``: Dagster refuses a module holding two of
them, and ``orchestration.definitions`` must hold exactly the merged one.
"""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.assets.dbt import dyno_crm_dbt_assets
from orchestration.assets.reports import deal_aging_report, deal_win_loss_report
from orchestration.dbt_cli import dbt_executable
from orchestration.dbt_project import dbt_project
from orchestration.jobs import JOBS
from orchestration.resources import PostgresResource


def core_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=[dyno_crm_dbt_assets, deal_win_loss_report, deal_aging_report],
        jobs=JOBS,
        resources={
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
            "postgres": PostgresResource(),
        },
    )
