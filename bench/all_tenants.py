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
    store_deals: bool

    def __str__(self) -> str:
        deals = "with deals stored (the default)" if self.store_deals else "without deals"
        return (
            f"all {self.tenants} tenants, both reports (win/loss last quarter, aging of all"
            f" open deals), {deals}, through the Python API: {self.runs} runs in"
            f" {self.seconds:.1f} s"
        )


def time_all_tenants(
    conn: psycopg.Connection[Any], dataset: Dataset, *, store_deals: bool
) -> AllTenants:
    started = time.perf_counter()
    runs = 0
    for tenant in dataset.tenant_numbers:
        tenant_id = dataset.tenant_id(tenant)
        run_deal_win_loss_report(conn, tenant_id, *QUARTER, store_deals=store_deals)
        run_deal_aging_report(
            conn, tenant_id, THRESHOLD_DAYS, CYCLE_THRESHOLD_DAYS, store_deals=store_deals
        )
        runs += 2
    return AllTenants(len(dataset.tenant_numbers), runs, time.perf_counter() - started, store_deals)
