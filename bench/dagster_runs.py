"""Both reports for every tenant through Dagster: the project's report assets, in process.

Runs only where the project has its Dagster code location (``orchestration.definitions``
with the ``deal_win_loss_report`` and ``deal_aging_report`` assets); elsewhere
``time_dagster_runs`` returns ``None`` and the benchmark says so. Two ways: each report of
each tenant as its own materialisation (the ad-hoc report jobs, one run each), and all
tenants in **one Dagster run**: ``tenant_reports_job`` over the range of every tenant
partition (the tenant assets' single-run backfill policy), which stores each tenant's
standard reports (win/loss of the day, week and month before the refresh, and aging).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bench.cases import CYCLE_THRESHOLD_DAYS, QUARTER, THRESHOLD_DAYS
from bench.data import Dataset


@dataclass(frozen=True)
class DagsterRuns:
    tenants: int
    runs: int
    seconds: float
    one_run_reports: int
    one_run_seconds: float

    def __str__(self) -> str:
        return (
            f"all {self.tenants} tenants, both reports, in one Dagster run (tenant_reports_job"
            f" over every tenant partition, in process): {self.one_run_reports} report runs"
            f" in {self.one_run_seconds:.1f} s; as separate materialisations of the ad-hoc"
            f" report assets: {self.runs} Dagster runs in {self.seconds:.1f} s"
        )


def time_dagster_runs(env: Mapping[str, str], dataset: Dataset) -> DagsterRuns | None:
    try:
        dagster: Any = importlib.import_module("dagster")
        assets: Any = importlib.import_module("orchestration.defs.report_assets")
        resources: Any = importlib.import_module("orchestration.defs.resources")
        importlib.import_module("orchestration.definitions")
    except ImportError:
        return None
    postgres = resources.PostgresResource.from_environment(env)
    instance = dagster.DagsterInstance.ephemeral()
    started = time.perf_counter()
    runs = 0
    for tenant in dataset.tenant_numbers:
        tenant_id = str(dataset.tenant_id(tenant))
        configs = {
            assets.deal_win_loss_report: {
                "tenant_id": tenant_id,
                "period_start": QUARTER[0].isoformat(),
                "period_end": QUARTER[1].isoformat(),
            },
            assets.deal_aging_report: {
                "tenant_id": tenant_id,
                "threshold_days": THRESHOLD_DAYS,
                "cycle_threshold_days": CYCLE_THRESHOLD_DAYS,
            },
        }
        for asset, config in configs.items():
            result = dagster.materialize(
                [asset],
                instance=instance,
                resources={"postgres": postgres},
                run_config={"ops": {asset.op.name: {"config": config}}},
            )
            if not result.success:
                raise RuntimeError(f"Dagster run of {asset.op.name} for {tenant_id} failed")
            runs += 1
    seconds = time.perf_counter() - started
    one_run_reports, one_run_seconds = time_one_run(dagster, env, dataset, instance)
    return DagsterRuns(len(dataset.tenant_numbers), runs, seconds, one_run_reports, one_run_seconds)


def time_one_run(
    dagster: Any, env: Mapping[str, str], dataset: Dataset, instance: Any
) -> tuple[int, float]:
    """Every tenant's standard reports in one run; (report runs stored, seconds)."""
    definitions: Any = importlib.import_module("orchestration.definitions")
    partitions: Any = importlib.import_module("orchestration.defs.partitions")
    tenant_assets: Any = importlib.import_module("orchestration.defs.tenant_assets")
    resources: Any = importlib.import_module("orchestration.defs.resources")
    health: Any = importlib.import_module("orchestration.reports.dagster_runs")
    db: Any = importlib.import_module("orchestration.db")
    tenants = [str(dataset.tenant_id(tenant)) for tenant in dataset.tenant_numbers]
    instance.add_dynamic_partitions(partitions.TENANTS_PARTITIONS_NAME, tenants)
    job = definitions.defs.resolve_job_def("tenant_reports_job")
    started = time.perf_counter()
    result = job.execute_in_process(
        instance=instance,
        resources={"postgres": resources.PostgresResource.from_environment(env)},
        tags={
            "dagster/asset_partition_range_start": tenants[0],
            "dagster/asset_partition_range_end": tenants[-1],
            # The refresh the periods follow: the benchmark's quarter holds its deals.
            tenant_assets.REFRESHED_AT_TAG: QUARTER[1].isoformat(),
        },
    )
    seconds = time.perf_counter() - started
    if not result.success:
        raise RuntimeError("the Dagster run over every tenant failed")
    with db.connect(env) as conn:
        headers = health.headers_of_dagster_run(conn, result.run_id)
    if {status for _, _, status in headers} != {"SUCCEEDED"}:
        raise RuntimeError(f"the Dagster run over every tenant stored {headers}")
    return len(headers), seconds
