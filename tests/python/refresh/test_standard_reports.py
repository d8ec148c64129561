"""The standard report set of a refresh, and the partition keys that carry it in Dagster."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from orchestration.defs.partitions import (
    month_partitions,
    tenant_from_key,
    tenant_key,
    tenant_month,
    tenant_month_partitions,
)
from orchestration.refresh.calendar import parse_month_range
from orchestration.refresh.config import load_refresh_settings, parse_refresh_settings
from orchestration.refresh.standard_reports import standard_reports
from orchestration.reports.parameters import Breakdown, ReportInputError

TENANT = uuid.UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")
OTHER = uuid.UUID("0b1f0b1f-0000-4000-8000-000000000001")
SETTINGS = parse_refresh_settings(
    {
        "refresh": {"cron": "0 6 * * *", "timezone": "Europe/Berlin"},
        "aging": {
            "threshold_days": 14,
            "cycle_threshold_days": 90,
            "tenants": {str(TENANT): {"threshold_days": 30}},
        },
    }
)


def test_standard_set_is_three_unfiltered_win_loss_periods_and_aging_as_of_the_refresh() -> None:
    refreshed_at = datetime(2025, 3, 5, 5, 30, tzinfo=UTC)  # Wednesday, 06:30 in Berlin
    reports = standard_reports(TENANT, refreshed_at, SETTINGS)
    spans = {
        item.period_name: (item.parameters.period_start.isoformat(), item.parameters.period_end)
        for item in reports.win_loss
    }
    berlin = ZoneInfo("Europe/Berlin")
    assert spans == {
        "day": ("2025-03-04T00:00:00+01:00", datetime(2025, 3, 5, tzinfo=berlin)),
        "week": ("2025-02-24T00:00:00+01:00", datetime(2025, 3, 3, tzinfo=berlin)),
        "month": ("2025-02-01T00:00:00+01:00", datetime(2025, 3, 1, tzinfo=berlin)),
    }
    for item in reports.win_loss:
        params = item.parameters
        assert params.tenant_id == TENANT
        assert (params.pipeline_id, params.principal_type, params.source, params.stage_id) == (
            None,
            None,
            None,
            None,
        )
        # refresh.toml's breakdown (by default per user): in the same run, no extra one
        assert params.breakdown == "user"
        assert params.store_deals
    assert reports.aging.period_end == refreshed_at
    assert reports.aging.period_start is None
    # the tenant's override, with the default cycle threshold inherited
    assert (reports.aging.threshold_days, reports.aging.cycle_threshold_days) == (30, 90)
    assert standard_reports(OTHER, refreshed_at, SETTINGS).aging.threshold_days == 14
    assert reports.aging.breakdown == "user"
    assert reports.aging.store_deals
    assert reports.aging.stage_threshold_days == ()


def test_the_standard_breakdown_follows_refresh_toml() -> None:
    refreshed_at = datetime(2025, 3, 5, 5, 30, tzinfo=UTC)
    cases: tuple[tuple[str, Breakdown | None], ...] = (("group", "group"), ("none", None))
    for value, expected in cases:
        settings = dataclasses.replace(SETTINGS, breakdown=expected)
        assert settings == parse_refresh_settings(
            {
                "refresh": {"cron": "0 6 * * *", "timezone": "Europe/Berlin", "breakdown": value},
                "aging": {
                    "threshold_days": 14,
                    "cycle_threshold_days": 90,
                    "tenants": {str(TENANT): {"threshold_days": 30}},
                },
            }
        )
        reports = standard_reports(TENANT, refreshed_at, settings)
        assert len(reports.win_loss) == 3  # the same runs, whatever the breakdown
        assert {item.parameters.breakdown for item in reports.win_loss} == {expected}
        assert reports.aging.breakdown == expected


def test_a_naive_refresh_instant_is_refused() -> None:
    with pytest.raises(ReportInputError, match=r"^refreshed_at: must be timezone-aware"):
        standard_reports(TENANT, datetime(2025, 3, 5), SETTINGS)


def test_tenant_partition_keys_round_trip_and_bad_keys_are_named() -> None:
    assert tenant_from_key(tenant_key(TENANT)) == TENANT
    with pytest.raises(ReportInputError, match=r"^tenant partition: 'acme' is not a tenant id"):
        tenant_from_key("acme")


def test_a_month_partition_is_the_local_calendar_month() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    item = tenant_month("2025-03-01", tenant_key(TENANT), berlin)
    assert item.start == datetime(2025, 3, 1, tzinfo=berlin)
    assert item.end == datetime(2025, 4, 1, tzinfo=berlin)
    december = tenant_month("2024-12-01", tenant_key(TENANT), berlin)
    assert december.end == datetime(2025, 1, 1, tzinfo=berlin)
    assert december.partition_key.keys_by_dimension == {
        "month": "2024-12-01",
        "tenant": str(TENANT),
    }
    zone = load_refresh_settings().zone
    assert "2025-01-01" in month_partitions(zone).get_partition_keys()
    assert {d.name for d in tenant_month_partitions(zone).partitions_defs} == {"month", "tenant"}


@pytest.mark.parametrize(
    ("text", "months"),
    [
        ("2025-01..2025-03", [date(2025, 1, 1), date(2025, 2, 1), date(2025, 3, 1)]),
        ("2024-12..2025-01", [date(2024, 12, 1), date(2025, 1, 1)]),
        ("2025-02", [date(2025, 2, 1)]),
    ],
)
def test_month_ranges(text: str, months: list[date]) -> None:
    assert parse_month_range("--months", text) == months


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2025-13", "is not a month written YYYY-MM"),
        ("Jan 2025", "is not a month written YYYY-MM"),
        ("2025-03..2025-01", "ends before it starts"),
        ("2025-01..", "is not a month written YYYY-MM"),
    ],
)
def test_bad_month_ranges_name_the_option(text: str, reason: str) -> None:
    with pytest.raises(ReportInputError, match=f"^--months: .*{reason}"):
        parse_month_range("--months", text)
