"""The scheduled refresh's part of the code location: partitioned report assets, their jobs,
the refresh schedule and the sensors (resources come from the core definitions)."""

import dagster as dg

from orchestration.schedules import warehouse_refresh_schedule
from orchestration.sensors import REFRESH_SENSORS
from orchestration.tenant_report_assets import TENANT_REPORT_ASSETS, TENANT_REPORT_JOBS


def refresh_definitions() -> dg.Definitions:
    return dg.Definitions(
        assets=TENANT_REPORT_ASSETS,
        jobs=TENANT_REPORT_JOBS,
        schedules=[warehouse_refresh_schedule],
        sensors=REFRESH_SENSORS,
    )
