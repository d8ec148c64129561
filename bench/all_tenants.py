"""Both reports for every tenant, the way a schedule runs them: one after the other."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import psycopg

from bench.cases import CYCLE_THRESHOLD_DAYS, QUARTER, THRESHOLD_DAYS
from bench.data import Dataset
from orchestration.reports import run_deal_aging_report, run_deal_win_loss_report


@dataclass(frozen=True)
class AllTenants:
    tenants: int
    runs: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"all {self.tenants} tenants, both reports (win/loss last quarter, aging of all"
            f" open deals), through the Python API: {self.runs} runs in {self.seconds:.1f} s"
        )


def time_all_tenants(conn: psycopg.Connection[Any], dataset: Dataset) -> AllTenants:
    started = time.perf_counter()
    runs = 0
    for tenant in dataset.tenant_numbers:
        tenant_id = dataset.tenant_id(tenant)
        run_deal_win_loss_report(conn, tenant_id, *QUARTER)
        run_deal_aging_report(conn, tenant_id, THRESHOLD_DAYS, CYCLE_THRESHOLD_DAYS)
        runs += 2
    return AllTenants(len(dataset.tenant_numbers), runs, time.perf_counter() - started)
