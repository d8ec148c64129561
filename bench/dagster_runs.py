"""Both reports for every tenant through Dagster: the project's report assets, in process.

Runs only where the project has its Dagster code location (``orchestration.definitions``
with the ``deal_win_loss_report`` and ``deal_aging_report`` assets); elsewhere
``time_dagster_runs`` returns ``None`` and the benchmark says so. Each report of each
tenant is one materialisation, the same step the report jobs run.
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

    def __str__(self) -> str:
        return (
            f"all {self.tenants} tenants, both reports, as Dagster materialisations of the"
            f" report assets (in process): {self.runs} runs in {self.seconds:.1f} s"
        )


def time_dagster_runs(env: Mapping[str, str], dataset: Dataset) -> DagsterRuns | None:
    try:
        dagster: Any = importlib.import_module("dagster")
        assets: Any = importlib.import_module("orchestration.assets.reports")
        resources: Any = importlib.import_module("orchestration.resources")
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
    return DagsterRuns(len(dataset.tenant_numbers), runs, time.perf_counter() - started)
