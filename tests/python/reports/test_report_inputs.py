"""Every bad input gets a ReportInputError naming the field, and nothing is written."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest

from orchestration.reports import (
    ReportInputError,
    run_deal_aging_report,
    run_deal_win_loss_report,
)

from scenarios import Q1_END, Q1_START, WL_TENANT

Conn = psycopg.Connection[Any]
NAIVE = datetime(2025, 1, 1)


def run_count(conn: Conn) -> int:
    row = conn.execute("select count(*) from dyno_crm.report_run").fetchone()
    conn.rollback()
    assert row is not None
    return int(row[0])


WIN_LOSS_BAD = [
    ({"tenant_id": "not-a-uuid"}, "tenant_id", "not a valid UUID"),
    ({"tenant_id": None}, "tenant_id", "required"),
    ({"tenant_id": 42}, "tenant_id", "must be a UUID"),
    ({"tenant_id": "1' or '1'='1"}, "tenant_id", "not a valid UUID"),
    ({"tenant_id": "x" * 10_000}, "tenant_id", "10002 chars"),
    ({"pipeline_id": "\x00"}, "pipeline_id", "not a valid UUID"),
    ({"stage_id": "12345"}, "stage_id", "not a valid UUID"),
    ({"period_start": NAIVE}, "period_start", "timezone-aware"),
    ({"period_end": NAIVE}, "period_end", "timezone-aware"),
    ({"period_start": None}, "period_start", "required"),
    ({"period_start": "2025-01-01"}, "period_start", "not str"),
    ({"period_start": Q1_END, "period_end": Q1_START}, "period_end", "after period_start"),
    ({"period_start": Q1_START, "period_end": Q1_START}, "period_end", "after period_start"),
    ({"principal_type": "USER"}, "principal_id", "required when principal_type"),
    ({"principal_id": uuid.uuid4()}, "principal_type", "required when principal_id"),
    (
        {"principal_type": "user", "principal_id": uuid.uuid4()},
        "principal_type",
        "'USER' or 'GROUP'",
    ),
    (
        {"principal_type": "ADMIN'; --", "principal_id": uuid.uuid4()},
        "principal_type",
        "'USER' or 'GROUP'",
    ),
    ({"source": "x" * 10_000}, "source", "10000 characters"),
    ({"source": "web\x00"}, "source", "NUL"),
    ({"source": 7}, "source", "must be a string"),
]


@pytest.mark.parametrize(("override", "field", "reason"), WIN_LOSS_BAD)
def test_bad_win_loss_input_names_the_field_and_writes_nothing(
    conn: Conn, override: dict[str, Any], field: str, reason: str
) -> None:
    before = run_count(conn)
    params: dict[str, Any] = {
        "tenant_id": WL_TENANT,
        "period_start": Q1_START,
        "period_end": Q1_END,
    }
    with pytest.raises(ReportInputError) as raised:
        run_deal_win_loss_report(conn, **{**params, **override})
    assert raised.value.field == field
    assert reason in str(raised.value)
    assert str(raised.value).startswith(f"{field}: ")
    assert run_count(conn) == before


AGING_BAD = [
    ({"threshold_days": -1}, "threshold_days", "between 0 and 36500"),
    ({"threshold_days": 36_501}, "threshold_days", "between 0 and 36500"),
    ({"threshold_days": 2**40}, "threshold_days", "between 0 and 36500"),
    ({"threshold_days": 1.5}, "threshold_days", "whole number"),
    ({"threshold_days": True}, "threshold_days", "whole number"),
    ({"threshold_days": "10"}, "threshold_days", "whole number"),
    ({"threshold_days": None}, "threshold_days", "required"),
    ({"cycle_threshold_days": -5}, "cycle_threshold_days", "between 0 and 36500"),
    ({"period_end": NAIVE}, "period_end", "timezone-aware"),
    ({"period_start": Q1_END, "period_end": Q1_START}, "period_end", "after period_start"),
    ({"principal_type": "GROUP"}, "principal_id", "required"),
    ({"tenant_id": "{bad}"}, "tenant_id", "not a valid UUID"),
]


@pytest.mark.parametrize(("override", "field", "reason"), AGING_BAD)
def test_bad_aging_input_names_the_field_and_writes_nothing(
    conn: Conn, override: dict[str, Any], field: str, reason: str
) -> None:
    before = run_count(conn)
    with pytest.raises(ReportInputError) as raised:
        run_deal_aging_report(conn, **{"tenant_id": WL_TENANT, "threshold_days": 10, **override})
    assert raised.value.field == field
    assert reason in str(raised.value)
    assert run_count(conn) == before


def test_ids_are_accepted_as_strings_in_any_standard_form(conn: Conn) -> None:
    tenant = str(WL_TENANT)
    for form in (tenant, tenant.upper(), f"{{{tenant}}}", tenant.replace("-", ""), f" {tenant} "):
        run_deal_win_loss_report(conn, form, Q1_START, Q1_END)


def test_any_timezone_is_accepted_and_means_the_same_instant(conn: Conn) -> None:
    plus_two = timezone(timedelta(hours=2))
    run_deal_win_loss_report(conn, WL_TENANT, Q1_START.astimezone(plus_two), Q1_END.astimezone(UTC))


def test_thresholds_at_the_bounds_are_accepted(conn: Conn) -> None:
    run_deal_aging_report(conn, WL_TENANT, 0, 36_500)
    run_deal_aging_report(conn, WL_TENANT, 36_500, 0)
