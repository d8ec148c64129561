"""The Dagster code location: ``dagster dev`` in the project folder loads ``defs``.

``core_defs`` holds the dbt assets, the report assets, their jobs and resources; other
modules add theirs by merging their own ``Definitions`` into ``defs`` below.
"""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.assets.dbt import dyno_crm_dbt_assets
from orchestration.assets.reports import deal_aging_report, deal_win_loss_report
from orchestration.dbt_cli import dbt_executable
from orchestration.dbt_project import dbt_project
from orchestration.jobs import JOBS
from orchestration.resources import PostgresResource

core_defs = dg.Definitions(
    assets=[dyno_crm_dbt_assets, deal_win_loss_report, deal_aging_report],
    jobs=JOBS,
    resources={
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
        "postgres": PostgresResource(),
    },
)

defs = dg.Definitions.merge(core_defs)
