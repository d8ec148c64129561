"""Deal Win/Loss Analysis on the hand-built scenarios (tests/python/scenarios.py)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from orchestration.reports import run_deal_win_loss_report

from report_rows import by_pipeline, facts, header
from scenarios import (
    Q1_END,
    Q1_START,
    SOURCE_QUOTES,
    SOURCE_UNICODE,
    TWIN_A,
    TWIN_B,
    TWIN_PIPELINE,
    TWIN_USER,
    WL_GROUP_1,
    WL_P1,
    WL_P1_LEAD,
    WL_P2,
    WL_P2_LEAD,
    WL_P2_QUALIFIED,
    WL_TENANT,
    WL_USER_1,
    WL_USER_2,
    at,
)

Conn = psycopg.Connection[Any]


def q1(conn: Conn, **filters: Any) -> dict[uuid.UUID | None, dict[str, Any]]:
    run_id = run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END, **filters)
    return by_pipeline(facts(conn, run_id))


def test_unfiltered_quarter_counts_each_closed_deal_once_under_its_own_pipeline(conn: Conn) -> None:
    rows = q1(conn)
    assert set(rows) == {WL_P1, WL_P2, None}
    p1 = rows[WL_P1]
    # w1 (at the start), w2 (just before the end), moved (NULL amount -> 0); lost l1.
    assert (p1["deals_closed_won_count"], p1["deals_closed_lost_count"]) == (3, 1)
    assert (p1["total_amount_won"], p1["total_amount_lost"]) == (
        Decimal("400.00"),
        Decimal("50.00"),
    )
    assert p1["avg_deal_size_won"] == Decimal("133.33")
    assert p1["avg_deal_size_lost"] == Decimal("50.00")
    assert p1["win_rate"] == Decimal("0.7500")
    # The first-stage tie is counted once.
    p2 = rows[WL_P2]
    assert (p2["deals_closed_won_count"], p2["deals_closed_lost_count"]) == (1, 0)
    assert (p2["avg_deal_size_won"], p2["avg_deal_size_lost"]) == (Decimal("10.00"), None)
    assert p2["win_rate"] == Decimal("1.0000")
    # Deals without a pipeline form their own row.
    none = rows[None]
    assert (none["deals_closed_won_count"], none["deals_closed_lost_count"]) == (0, 1)
    assert (none["total_amount_won"], none["total_amount_lost"]) == (
        Decimal("0.00"),
        Decimal("70.00"),
    )
    assert (none["avg_deal_size_won"], none["win_rate"]) == (None, Decimal("0.0000"))
    for row in rows.values():
        assert row["tenant_id"] == WL_TENANT
        assert (row["principal_type"], row["principal_id"], row["source"], row["stage_id"]) == (
            None,
            None,
            None,
            None,
        )


def test_period_start_is_included_and_end_excluded(conn: Conn) -> None:
    # Only w1 closed on [2025-01-01, 2025-01-02).
    rows = q1_window(conn, at("2025-01-01"), at("2025-01-02"))
    assert rows[WL_P1]["deals_closed_won_count"] == 1
    assert rows[WL_P1]["total_amount_won"] == Decimal("100.00")
    # x-end closed exactly at 2025-04-01: in the next quarter, not this one.
    rows = q1_window(conn, at("2025-04-01"), at("2025-04-02"))
    assert rows[WL_P1]["total_amount_won"] == Decimal("1000.00")
    rows = q1_window(conn, at("2025-03-31 23:59:59.999999"), at("2025-04-01"))
    assert rows[WL_P1]["total_amount_won"] == Decimal("300.00")


def q1_window(conn: Conn, start: Any, end: Any) -> dict[uuid.UUID | None, dict[str, Any]]:
    return by_pipeline(facts(conn, run_deal_win_loss_report(conn, WL_TENANT, start, end)))


def test_reopened_deal_is_not_closed(conn: Conn) -> None:
    # 'reopened' was lost on 2025-02-01 (worth 4000) but is open again.
    rows = q1_window(conn, at("2025-02-01"), at("2025-02-02"))
    assert rows == {}


def test_pipeline_filter_uses_the_deals_current_pipeline(conn: Conn) -> None:
    rows = q1(conn, pipeline_id=WL_P1)
    assert set(rows) == {WL_P1}
    assert rows[WL_P1]["deals_closed_won_count"] == 3  # includes 'moved', closed via P2's stage
    rows = q1(conn, pipeline_id=str(WL_P2))
    assert rows[WL_P2]["deals_closed_won_count"] == 1
    assert rows[WL_P2]["pipeline_id"] == WL_P2


@pytest.mark.parametrize(
    ("source", "pipeline", "won", "lost", "amount_won", "amount_lost"),
    [
        ("web", WL_P1, 1, 0, "100.00", "0.00"),
        (SOURCE_QUOTES, WL_P1, 1, 0, "300.00", "0.00"),
        (SOURCE_UNICODE, None, 0, 1, "0.00", "70.00"),
    ],
)
def test_source_filter_matches_exact_text_and_is_stored(
    conn: Conn,
    source: str,
    pipeline: uuid.UUID | None,
    won: int,
    lost: int,
    amount_won: str,
    amount_lost: str,
) -> None:
    rows = q1(conn, source=source)
    assert set(rows) == {pipeline}
    row = rows[pipeline]
    assert (row["deals_closed_won_count"], row["deals_closed_lost_count"]) == (won, lost)
    assert (row["total_amount_won"], row["total_amount_lost"]) == (
        Decimal(amount_won),
        Decimal(amount_lost),
    )
    assert row["source"] == source


def test_source_filter_excludes_deals_without_source(conn: Conn) -> None:
    assert q1(conn, source="") == {}


def test_user_filter_matches_owner_or_assignee(conn: Conn) -> None:
    rows = q1(conn, principal_type="USER", principal_id=WL_USER_1)
    # w1 owned by user 1, w2 assigned to user 1 (owned by user 2).
    assert rows[WL_P1]["deals_closed_won_count"] == 2
    assert rows[WL_P1]["total_amount_won"] == Decimal("400.00")
    assert (rows[WL_P1]["principal_type"], rows[WL_P1]["principal_id"]) == ("USER", WL_USER_1)
    rows = q1(conn, principal_type="USER", principal_id=WL_USER_2)
    assert rows[WL_P1]["total_amount_won"] == Decimal("300.00")


def test_group_filter_matches_owner_or_assignee_group(conn: Conn) -> None:
    rows = q1(conn, principal_type="GROUP", principal_id=WL_GROUP_1)
    p1 = rows[WL_P1]
    # l1 owned by group 1 (lost 50), 'moved' assigned to group 1 (won, NULL amount).
    assert (p1["deals_closed_won_count"], p1["deals_closed_lost_count"]) == (1, 1)
    assert (p1["avg_deal_size_won"], p1["win_rate"]) == (Decimal("0.00"), Decimal("0.5000"))


def test_user_filter_does_not_match_group_columns(conn: Conn) -> None:
    assert q1(conn, principal_type="USER", principal_id=WL_GROUP_1) == {}


def test_first_stage_filter_counts_a_tied_deal_once_by_stage_order(conn: Conn) -> None:
    rows = q1(conn, stage_id=WL_P2_LEAD)
    # 'tie' (lead and qualified at one instant: lead has the lower order) and 'moved'.
    assert rows[WL_P2]["deals_closed_won_count"] == 1
    assert rows[WL_P1]["deals_closed_won_count"] == 1
    assert rows[WL_P1]["stage_id"] == WL_P2_LEAD
    assert q1(conn, stage_id=WL_P2_QUALIFIED) == {}
    rows = q1(conn, stage_id=WL_P1_LEAD)
    assert (rows[WL_P1]["deals_closed_won_count"], rows[WL_P1]["deals_closed_lost_count"]) == (2, 1)
    assert rows[None]["deals_closed_lost_count"] == 1


def test_tenants_sharing_every_id_see_only_their_own_rows(conn: Conn) -> None:
    a = by_pipeline(facts(conn, run_deal_win_loss_report(conn, TWIN_A, Q1_START, Q1_END)))
    b = by_pipeline(facts(conn, run_deal_win_loss_report(conn, TWIN_B, Q1_START, Q1_END)))
    assert a[TWIN_PIPELINE]["deals_closed_won_count"] == 1
    assert a[TWIN_PIPELINE]["deals_closed_lost_count"] == 0
    assert a[TWIN_PIPELINE]["total_amount_won"] == Decimal("100.00")
    assert b[TWIN_PIPELINE]["deals_closed_won_count"] == 0
    assert b[TWIN_PIPELINE]["total_amount_lost"] == Decimal("999.00")
    b_user = q_twin(conn, TWIN_B, principal_type="USER", principal_id=TWIN_USER)
    assert b_user[TWIN_PIPELINE]["total_amount_lost"] == Decimal("999.00")
    assert q_twin(conn, TWIN_A, principal_type="USER", principal_id=TWIN_USER) == {}


def q_twin(conn: Conn, tenant: uuid.UUID, **filters: Any) -> dict[uuid.UUID | None, dict[str, Any]]:
    return by_pipeline(
        facts(conn, run_deal_win_loss_report(conn, tenant, Q1_START, Q1_END, **filters))
    )


@pytest.mark.parametrize(
    ("tenant", "start", "end"),
    [
        (WL_TENANT, at("2030-01-01"), at("2030-04-01")),
        (uuid.UUID(int=0), Q1_START, Q1_END),
    ],
    ids=["period-without-closes", "unknown-tenant"],
)
def test_nothing_matching_is_a_successful_run_without_facts(
    conn: Conn, tenant: uuid.UUID, start: Any, end: Any
) -> None:
    run_id = run_deal_win_loss_report(conn, tenant, start, end)
    assert header(conn, run_id)["status"] == "SUCCEEDED"
    assert facts(conn, run_id) == []


def test_header_records_the_run_and_every_parameter(conn: Conn) -> None:
    run_id = run_deal_win_loss_report(
        conn,
        str(WL_TENANT),
        Q1_START,
        Q1_END,
        str(WL_P1),
        "USER",
        str(WL_USER_1),
        "web",
        str(WL_P1_LEAD),
    )
    row = header(conn, run_id)
    assert isinstance(run_id, uuid.UUID)
    assert (row["tenant_id"], row["report_type"], row["status"]) == (
        WL_TENANT,
        "deal_win_loss",
        "SUCCEEDED",
    )
    assert (row["period_start"], row["period_end"], row["error_message"]) == (
        Q1_START,
        Q1_END,
        None,
    )
    assert row["input_params"] == {
        "pipeline_id": str(WL_P1),
        "principal_type": "USER",
        "principal_id": str(WL_USER_1),
        "source": "web",
        "stage_id": str(WL_P1_LEAD),
        "period_start": Q1_START.isoformat(),
        "period_end": Q1_END.isoformat(),
    }
