"""The one ``Definitions`` of the code location: every asset, job, schedule, sensor, resource.

``refresh.toml`` is read here, once, when the definitions are built (each load of the code
location); the settings go to the objects that follow them.
"""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.defs.dbt_assets import dyno_crm_dbt_assets
from orchestration.defs.dbt_project import dbt_project
from orchestration.defs.jobs import JOBS, deal_retention_job
from orchestration.defs.refresh_sensors import refresh_sensors
from orchestration.defs.report_assets import deal_aging_report, deal_win_loss_report
from orchestration.defs.resources import PostgresResource
from orchestration.defs.run_health_sensors import RUN_HEALTH_SENSORS
from orchestration.defs.schedules import deal_retention_schedule, warehouse_refresh_schedule
from orchestration.defs.tenant_assets import tenant_report_assets
from orchestration.refresh.config import RefreshSettings, load_refresh_settings
from orchestration.warehouse.dbt_cli import dbt_executable


def build_definitions(refresh: RefreshSettings) -> dg.Definitions:
    """The code location for the refresh settings ``refresh``."""
    retention_job = deal_retention_job(refresh)
    return dg.Definitions(
        assets=[
            dyno_crm_dbt_assets,
            deal_win_loss_report,
            deal_aging_report,
            *tenant_report_assets(refresh),
        ],
        jobs=[*JOBS, retention_job],
        schedules=[
            warehouse_refresh_schedule(refresh),
            deal_retention_schedule(refresh, retention_job),
        ],
        sensors=[*refresh_sensors(refresh), *RUN_HEALTH_SENSORS],
        resources={
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
            "postgres": PostgresResource(),
        },
    )


defs = build_definitions(load_refresh_settings())
