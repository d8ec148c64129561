"""A run over a range of tenants: Dagster copies its metadata into every partition's event,
so that metadata must not grow with the range (issue "Ten thousand tenants")."""

from __future__ import annotations

import uuid

import dagster as dg

from orchestration.defs.tenant_assets import RANGE_PREVIEW_RUNS, TenantReport, range_metadata
from orchestration.reports.results import ReportResult


def reports(tenants: int) -> tuple[list[uuid.UUID], list[TenantReport]]:
    ids = [uuid.UUID(int=n + 1) for n in range(tenants)]
    done = [
        TenantReport(
            tenant,
            label,
            ReportResult(
                header={"run_id": uuid.uuid4(), "fact_count": 3, "deal_count": 7}, facts=[]
            ),
        )
        for tenant in ids
        for label in ("day", "week", "month", "aging")
    ]
    return ids, done


def size(metadata: dict[str, dg.MetadataValue]) -> int:
    return sum(len(str(value.value)) for value in metadata.values())


def test_the_metadata_of_a_range_does_not_grow_with_its_tenants() -> None:
    small = range_metadata(*reports(RANGE_PREVIEW_RUNS))
    large = range_metadata(*reports(2_000))
    assert large["tenants"].value == 2_000
    assert large["report_runs"].value == 8_000
    assert large["fact_rows"].value == 3 * 8_000
    assert large["deal_rows"].value == 7 * 8_000
    table = str(large["runs"].value)
    assert table.count("\n| ") == RANGE_PREVIEW_RUNS  # rows below the heading
    assert f"first {RANGE_PREVIEW_RUNS} of 8000 report runs" in table
    # the same bound for 80 runs as for 8,000, give or take the counts' digits
    assert size(large) < size(small) + 200
