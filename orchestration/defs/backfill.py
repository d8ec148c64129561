"""Executing monthly win/loss partitions for many tenants, in this process (``dyno-reports
backfill``; the command's arguments and printing are in ``orchestration.cli.backfill``).

Each (month, tenant) is one run of ``tenant_deal_win_loss_monthly``, executed one after the
other and recorded in the Dagster instance of ``$DAGSTER_HOME`` (so the UI shows it), or in a
throw-away instance when ``DAGSTER_HOME`` is not set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from dagster import DagsterInstance, ExecuteInProcessResult, MultiPartitionsDefinition

from orchestration.defs.definitions import defs
from orchestration.defs.jobs import tenant_deal_win_loss_monthly_job
from orchestration.defs.partitions import (
    MONTH_DIMENSION,
    TENANTS_PARTITIONS_NAME,
    tenant_key,
    tenant_month_key,
)
from orchestration.defs.tenant_assets import TENANT_DEAL_WIN_LOSS_MONTHLY
from orchestration.refresh.calendar import parse_month_range
from orchestration.reports.parameters import ReportInputError, require_uuid

MONTHLY_JOB = tenant_deal_win_loss_monthly_job.name
MONTHLY_ASSET = TENANT_DEAL_WIN_LOSS_MONTHLY


@dataclass(frozen=True)
class PartitionOutcome:
    month: date
    tenant: str
    dagster_run_id: str
    succeeded: bool
    detail: str

    def line(self) -> str:
        status = "SUCCESS" if self.succeeded else "FAILURE"
        return f"{self.month:%Y-%m}  {self.tenant}  {status}  {self.detail}"


def resolve_months(text: str) -> list[date]:
    """The months of ``--months``, each of which must be a partition."""
    months = parse_month_range("--months", text)
    partitions = defs.resolve_assets_def(MONTHLY_ASSET).partitions_def
    assert isinstance(partitions, MultiPartitionsDefinition)
    month_partitions = partitions.get_partitions_def_for_dimension(MONTH_DIMENSION)
    available = set(month_partitions.get_partition_keys())
    missing = [month for month in months if month.isoformat() not in available]
    if missing:
        first = min(available)
        raise ReportInputError(
            "--months",
            f"{missing[0]:%Y-%m} has no partition: months run from {first[:7]}"
            " to the last complete month",
        )
    return months


def resolve_tenants(requested: Sequence[str], known: Sequence[uuid.UUID]) -> list[str]:
    """The tenants of ``--tenant`` (each must have deals), or every known tenant."""
    if not requested:
        if not known:
            raise ReportInputError("--tenant", "the warehouse has no tenants with deals")
        return [tenant_key(tenant) for tenant in known]
    tenants = []
    for text in requested:
        tenant = require_uuid("--tenant", text)
        if tenant not in known:
            raise ReportInputError("--tenant", f"{tenant} has no deals in the warehouse")
        tenants.append(tenant_key(tenant))
    return list(dict.fromkeys(tenants))


def dagster_instance() -> DagsterInstance:
    """``$DAGSTER_HOME``'s instance, so that the UI shows the runs; else a throw-away one."""
    if os.environ.get("DAGSTER_HOME"):
        return DagsterInstance.get()
    return DagsterInstance.ephemeral()


def run_backfill(
    months: Sequence[date],
    tenants: Sequence[str],
    instance: DagsterInstance,
    report: Callable[[PartitionOutcome], None] = lambda outcome: None,
) -> list[PartitionOutcome]:
    """Execute every (month, tenant) partition in order; return each outcome."""
    known = set(instance.get_dynamic_partitions(TENANTS_PARTITIONS_NAME))
    new = [tenant for tenant in tenants if tenant not in known]
    if new:
        instance.add_dynamic_partitions(TENANTS_PARTITIONS_NAME, new)
    job = defs.resolve_job_def(MONTHLY_JOB)
    outcomes = []
    for month in months:
        for tenant in tenants:
            result = job.execute_in_process(
                instance=instance,
                partition_key=tenant_month_key(month, tenant),
                raise_on_error=False,
            )
            outcome = PartitionOutcome(
                month=month,
                tenant=tenant,
                dagster_run_id=result.run_id,
                succeeded=result.success,
                detail=_detail(result),
            )
            report(outcome)
            outcomes.append(outcome)
    return outcomes


def _detail(result: ExecuteInProcessResult) -> str:
    """The stored report run and its row count, or why the partition failed."""
    if result.success:
        [event] = result.asset_materializations_for_node(MONTHLY_ASSET)
        return (
            f"report run {event.metadata['run_id'].value}"
            f" ({event.metadata['fact_rows'].value} fact rows)"
        )
    failures = [event.message or "" for event in result.get_step_failure_events()]
    return " ".join(" ".join(failures).split())[:500] or "the run failed"
