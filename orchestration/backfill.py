"""``dyno-reports backfill``: monthly win/loss partitions for many tenants, from the shell.

Each (month, tenant) is one run of ``tenant_deal_win_loss_monthly``, executed in this
process one after the other and recorded in the Dagster instance of ``$DAGSTER_HOME`` (so
the UI shows it), or in a throw-away instance when ``DAGSTER_HOME`` is not set.
"""

from __future__ import annotations

import argparse
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from orchestration.db import connect
from orchestration.months import parse_month_range
from orchestration.reports.parameters import ReportInputError, require_uuid
from orchestration.tenants import discover_tenants

if TYPE_CHECKING:
    from dagster import DagsterInstance, ExecuteInProcessResult

MONTHLY_JOB = "tenant_deal_win_loss_monthly_job"
MONTHLY_ASSET = "tenant_deal_win_loss_monthly"


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


def add_backfill_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report",
        required=True,
        choices=["win-loss"],
        help="the report to backfill (win/loss is the one with monthly partitions)",
    )
    parser.add_argument(
        "--months", required=True, help="YYYY-MM..YYYY-MM (both included) or one YYYY-MM"
    )
    parser.add_argument(
        "--tenant",
        action="append",
        default=[],
        metavar="TENANT_ID",
        help="a tenant id; repeat for several (default: every tenant with deals)",
    )


def resolve_months(text: str) -> list[date]:
    """The months of ``--months``, each of which must be a partition."""
    from orchestration.partitions import month_partitions  # noqa: PLC0415 - loads Dagster

    months = parse_month_range("--months", text)
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
    from orchestration.partitions import tenant_key  # noqa: PLC0415 - loads Dagster

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
    from dagster import DagsterInstance  # noqa: PLC0415 - Dagster only when running

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
    # Imported here: the definitions load Dagster and the dbt manifest, which parsing
    # the arguments (and `dyno-reports --help`) does not need.
    from orchestration.definitions import defs  # noqa: PLC0415
    from orchestration.partitions import (  # noqa: PLC0415
        MONTH_ZONE,
        TENANTS_PARTITIONS_NAME,
        tenant_month,
    )

    known = set(instance.get_dynamic_partitions(TENANTS_PARTITIONS_NAME))
    new = [tenant for tenant in tenants if tenant not in known]
    if new:
        instance.add_dynamic_partitions(TENANTS_PARTITIONS_NAME, new)
    job = defs.resolve_job_def(MONTHLY_JOB)
    outcomes = []
    for month in months:
        for tenant in tenants:
            key = tenant_month(month.isoformat(), tenant, MONTH_ZONE).partition_key
            result = job.execute_in_process(
                instance=instance, partition_key=key, raise_on_error=False
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


def backfill_command(args: argparse.Namespace) -> int:
    """Run the backfill ``args`` describe, printing a line per partition; exit status."""
    months = resolve_months(args.months)
    with connect() as conn:
        known = discover_tenants(conn)
    tenants = resolve_tenants(args.tenant, known)
    print(
        f"backfill of {len(months)} month(s) x {len(tenants)} tenant(s):"
        f" {len(months) * len(tenants)} runs of {MONTHLY_JOB}",
        flush=True,
    )
    outcomes = run_backfill(
        months, tenants, dagster_instance(), report=lambda o: print(o.line(), flush=True)
    )
    failed = sum(not outcome.succeeded for outcome in outcomes)
    print(f"{len(outcomes) - failed} of {len(outcomes)} partitions succeeded")
    return 1 if failed else 0
