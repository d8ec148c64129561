"""How the scheduled reports are partitioned in Dagster: by tenant, and by month x tenant.

Only the report assets are partitioned. The dbt assets stay unpartitioned: every model is
a table rebuilt whole for all tenants in one ``dbt build``, so a tenant or month partition
of a model would be a fiction (and multi-partitioned ``@dbt_assets`` are where
dagster-io/dagster #23210 and #28794 bite). An unpartitioned upstream feeding a
partitioned downstream is plain Dagster: every partition depends on the whole build.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final
from zoneinfo import ZoneInfo

from dagster import (
    DynamicPartitionsDefinition,
    MonthlyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
)

from orchestration.refresh.calendar import month_bounds
from orchestration.reports.parameters import ReportInputError, require_uuid

TENANTS_PARTITIONS_NAME: Final = "tenants"
MONTH_DIMENSION: Final = "month"
TENANT_DIMENSION: Final = "tenant"
# The first month a backfill can ask for; older months are not worth a partition each
# (there is one partition per month and tenant in the UI's partition grid).
FIRST_MONTH: Final = "2020-01-01"

# Tenants are whatever the warehouse holds (tenant_discovery_sensor adds them); a key is the
# tenant id in its canonical lowercase form.
tenant_partitions = DynamicPartitionsDefinition(name=TENANTS_PARTITIONS_NAME)


def month_partitions(zone: ZoneInfo) -> MonthlyPartitionsDefinition:
    """Calendar months from ``FIRST_MONTH``, their boundaries local midnights in ``zone`` (the
    refresh's), so a monthly backfill and the scheduled "previous month" report cover exactly
    the same instants. Only complete months exist."""
    return MonthlyPartitionsDefinition(start_date=FIRST_MONTH, timezone=zone.key)


def tenant_month_partitions(zone: ZoneInfo) -> MultiPartitionsDefinition:
    """(month, tenant) partitions of the monthly win/loss asset."""
    return MultiPartitionsDefinition(
        {MONTH_DIMENSION: month_partitions(zone), TENANT_DIMENSION: tenant_partitions}
    )


def tenant_key(tenant_id: uuid.UUID) -> str:
    return str(tenant_id)


def tenant_from_key(key: str) -> uuid.UUID:
    """The tenant of a partition key; a key that is no UUID is refused, naming the partition."""
    try:
        return require_uuid("tenant partition", key)
    except ReportInputError:
        raise ReportInputError("tenant partition", f"{key!r} is not a tenant id (a UUID)") from None


@dataclass(frozen=True)
class TenantMonth:
    """One partition of the monthly win/loss asset: [start, end) of a month for a tenant."""

    tenant_id: uuid.UUID
    month: date
    start: datetime
    end: datetime

    @property
    def partition_key(self) -> MultiPartitionKey:
        return tenant_month_key(self.month, tenant_key(self.tenant_id))


def tenant_month_key(month: date, tenant: str) -> MultiPartitionKey:
    """The key of the (month, tenant) partition."""
    return MultiPartitionKey({MONTH_DIMENSION: month.isoformat(), TENANT_DIMENSION: tenant})


def tenant_month(month_key: str, tenant: str, zone: ZoneInfo) -> TenantMonth:
    """The period and tenant of a (month, tenant) partition, e.g. ``("2025-01-01", "7c9e…")``."""
    month = date.fromisoformat(month_key)
    start, end = month_bounds(month, zone)
    return TenantMonth(tenant_id=tenant_from_key(tenant), month=month, start=start, end=end)
