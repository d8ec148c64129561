"""Deal Aging / At-Risk on the hand-built scenarios (tests/python/scenarios.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg

from orchestration.reports import run_deal_aging_report

from report_rows import facts, header
from scenarios import (
    AG_AS_OF,
    AG_FUTURE_TENANT,
    AG_GROUP,
    AG_LEAD,
    AG_P1,
    AG_QUALIFIED,
    AG_TENANT,
    AG_USER,
    TWIN_A,
    TWIN_B,
    TWIN_OPEN_STAGE,
    TWIN_PIPELINE,
    at,
)

Conn = psycopg.Connection[Any]
Key = tuple[uuid.UUID | None, uuid.UUID]


def aging(conn: Conn, **params: Any) -> dict[Key, dict[str, Any]]:
    params.setdefault("threshold_days", 10)
    params.setdefault("period_end", AG_AS_OF)
    run_id = run_deal_aging_report(conn, params.pop("tenant_id", AG_TENANT), **params)
    rows = facts(conn, run_id)
    keyed = {(row["pipeline_id"], row["stage_id"]): row for row in rows}
    assert len(keyed) == len(rows), "more than one row per (pipeline, stage)"
    return keyed


def test_open_deals_per_pipeline_and_stage_as_of_period_end(conn: Conn) -> None:
    rows = aging(conn)
    # a7 entered Lead exactly at the as-of time (= period_end): outside the period.
    assert set(rows) == {(AG_P1, AG_LEAD), (AG_P1, AG_QUALIFIED), (None, AG_QUALIFIED)}
    lead = rows[(AG_P1, AG_LEAD)]
    # a1: 31 days (at risk), a2: exactly 10 (not above 10), a3: 0.5.
    assert (lead["at_risk_deal_count"], lead["at_risk_amount"]) == (1, Decimal("100.00"))
    assert (lead["total_deal_count"], lead["total_amount"]) == (3, Decimal("140.00"))
    assert lead["avg_days_in_stage"] == Decimal("13.83")
    assert lead["median_days_in_stage"] == Decimal("10.00")
    assert lead["percent_at_risk"] == Decimal("0.3333")
    assert (lead["threshold_days"], lead["cycle_threshold_days"]) == (10, None)
    # a4 was lost, then reopened into Qualified 12 days ago: open and at risk.
    qualified = rows[(AG_P1, AG_QUALIFIED)]
    assert (qualified["at_risk_deal_count"], qualified["total_deal_count"]) == (1, 1)
    assert (qualified["avg_days_in_stage"], qualified["percent_at_risk"]) == (
        Decimal("12.00"),
        Decimal("1.0000"),
    )
    no_pipeline = rows[(None, AG_QUALIFIED)]
    assert (no_pipeline["at_risk_deal_count"], no_pipeline["total_amount"]) == (0, Decimal("5.00"))
    assert no_pipeline["median_days_in_stage"] == Decimal("2.00")


def test_cycle_threshold_adds_deals_open_too_long_overall(conn: Conn) -> None:
    lead = aging(conn, cycle_threshold_days=100)[(AG_P1, AG_LEAD)]
    # a2 is 151 days old: at risk now; its NULL amount adds 0.
    assert (lead["at_risk_deal_count"], lead["at_risk_amount"]) == (2, Decimal("100.00"))
    assert (lead["percent_at_risk"], lead["cycle_threshold_days"]) == (Decimal("0.6667"), 100)


def test_threshold_is_strictly_greater_and_fractional(conn: Conn) -> None:
    lead = aging(conn, threshold_days=9)[(AG_P1, AG_LEAD)]
    assert lead["at_risk_deal_count"] == 2  # a2's 10 days > 9
    lead = aging(conn, threshold_days=0)[(AG_P1, AG_LEAD)]
    assert lead["at_risk_deal_count"] == 3  # a3's half day > 0


def test_period_start_filters_on_current_stage_entry_and_median_of_even_count(conn: Conn) -> None:
    rows = aging(conn, period_start=at("2025-05-22"))
    lead = rows[(AG_P1, AG_LEAD)]
    # a2 entered exactly at the start (included), a3 later; a1 before (excluded).
    assert lead["total_deal_count"] == 2
    assert (lead["median_days_in_stage"], lead["avg_days_in_stage"]) == (
        Decimal("5.25"),
        Decimal("5.25"),
    )
    assert (None, AG_QUALIFIED) in rows
    assert (AG_P1, AG_QUALIFIED) not in rows


def test_principal_filters_match_owner_or_assignee(conn: Conn) -> None:
    rows = aging(conn, principal_type="USER", principal_id=AG_USER)
    assert set(rows) == {(AG_P1, AG_LEAD)}
    assert rows[(AG_P1, AG_LEAD)]["total_deal_count"] == 2  # a1 owned, a2 assigned
    assert rows[(AG_P1, AG_LEAD)]["principal_id"] == AG_USER
    rows = aging(conn, principal_type="GROUP", principal_id=AG_GROUP)
    assert {key: row["total_deal_count"] for key, row in rows.items()} == {
        (AG_P1, AG_LEAD): 1,  # a3 owned by the group
        (AG_P1, AG_QUALIFIED): 1,  # a4 assigned to the group
    }


def test_pipeline_and_stage_filters(conn: Conn) -> None:
    assert set(aging(conn, pipeline_id=AG_P1)) == {(AG_P1, AG_LEAD), (AG_P1, AG_QUALIFIED)}
    assert set(aging(conn, stage_id=AG_QUALIFIED)) == {(AG_P1, AG_QUALIFIED), (None, AG_QUALIFIED)}


def test_without_period_end_the_run_start_is_the_as_of_time(conn: Conn) -> None:
    before = datetime.now(UTC)
    run_id = run_deal_aging_report(conn, AG_TENANT, 10)
    row = header(conn, run_id)
    as_of = datetime.fromisoformat(row["input_params"]["as_of"])
    assert as_of == row["generated_at"]
    assert before - timedelta(seconds=5) <= as_of <= datetime.now(UTC)
    lead = {(r["pipeline_id"], r["stage_id"]): r for r in facts(conn, run_id)}[(AG_P1, AG_LEAD)]
    assert lead["total_deal_count"] == 4  # a7 counts now


def test_stage_entered_after_the_as_of_time_counts_zero_days(conn: Conn) -> None:
    run_id = run_deal_aging_report(conn, AG_FUTURE_TENANT, 0)
    (row,) = facts(conn, run_id)
    assert (row["avg_days_in_stage"], row["median_days_in_stage"]) == (
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert row["at_risk_deal_count"] == 0


def test_tenants_sharing_every_id_see_only_their_own_open_deals(conn: Conn) -> None:
    for tenant, amount in ((TWIN_A, Decimal("1.00")), (TWIN_B, Decimal("2.00"))):
        (row,) = facts(conn, run_deal_aging_report(conn, tenant, 10, period_end=at("2025-06-01")))
        assert (row["pipeline_id"], row["stage_id"]) == (TWIN_PIPELINE, TWIN_OPEN_STAGE)
        assert (row["total_deal_count"], row["total_amount"], row["tenant_id"]) == (
            1,
            amount,
            tenant,
        )


def test_header_records_every_parameter_and_the_as_of_time(conn: Conn) -> None:
    run_id = run_deal_aging_report(
        conn, AG_TENANT, 10, 100, at("2025-05-01"), AG_AS_OF, AG_P1, "GROUP", AG_GROUP, AG_LEAD
    )
    row = header(conn, run_id)
    assert (row["report_type"], row["status"]) == ("deal_aging", "SUCCEEDED")
    assert row["input_params"] == {
        "threshold_days": 10,
        "cycle_threshold_days": 100,
        "period_start": at("2025-05-01").isoformat(),
        "period_end": AG_AS_OF.isoformat(),
        "pipeline_id": str(AG_P1),
        "principal_type": "GROUP",
        "principal_id": str(AG_GROUP),
        "stage_id": str(AG_LEAD),
        "as_of": AG_AS_OF.isoformat(),
    }


def test_unknown_tenant_is_a_successful_empty_run(conn: Conn) -> None:
    run_id = run_deal_aging_report(conn, uuid.uuid4(), 5)
    assert header(conn, run_id)["status"] == "SUCCEEDED"
    assert facts(conn, run_id) == []
