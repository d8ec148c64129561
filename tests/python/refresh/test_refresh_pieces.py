"""The plain functions behind the scheduled refresh: periods, settings, tenants, freshness."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from orchestration.db import connect
from orchestration.refresh.calendar import standard_periods
from orchestration.refresh.config import (
    SETTINGS_ENV,
    SETTINGS_FILE,
    AgingThresholds,
    RefreshSettingsError,
    load_refresh_settings,
    parse_refresh_settings,
)
from orchestration.refresh.tenants import discover_tenants
from orchestration.reports.retention import DEFAULT_DEAL_RETENTION_DAYS
from orchestration.warehouse.crm_batch import CrmBatch, StageEntry
from orchestration.warehouse.freshness import check_source_freshness, stale_reason
from orchestration.warehouse.storage import create_source_tables

from conftest import Env, create_database, drop_database
from scenarios import AG_TENANT, TWIN_A, TWIN_B, WL_TENANT

BERLIN = ZoneInfo("Europe/Berlin")
MINIMAL_REFRESH: dict[str, Any] = {"cron": "0 6 * * *"}
MINIMAL_AGING: dict[str, Any] = {"threshold_days": 1}


def spans(refreshed_at: datetime, zone: ZoneInfo) -> dict[str, tuple[str, str]]:
    return {
        period.name: (period.start.isoformat(), period.end.isoformat())
        for period in standard_periods(refreshed_at, zone)
    }


def test_periods_are_the_complete_day_week_and_month_before_the_refresh() -> None:
    # Wednesday 2025-01-01 06:00 UTC: the day, ISO week and month all cross the year end.
    assert spans(datetime(2025, 1, 1, 6, tzinfo=UTC), ZoneInfo("UTC")) == {
        "day": ("2024-12-31T00:00:00+00:00", "2025-01-01T00:00:00+00:00"),
        "week": ("2024-12-23T00:00:00+00:00", "2024-12-30T00:00:00+00:00"),
        "month": ("2024-12-01T00:00:00+00:00", "2025-01-01T00:00:00+00:00"),
    }


def test_periods_follow_local_midnights_across_a_dst_change() -> None:
    # Monday 2026-03-30 in Berlin: the day before had 23 hours (clocks went forward).
    periods = {p.name: p for p in standard_periods(datetime(2026, 3, 30, 4, tzinfo=UTC), BERLIN)}
    day = periods["day"]
    assert day.end.timestamp() - day.start.timestamp() == timedelta(hours=23).total_seconds()
    assert periods["week"].start.isoformat() == "2026-03-23T00:00:00+01:00"
    assert periods["week"].end.isoformat() == "2026-03-30T00:00:00+02:00"
    assert periods["month"].start.isoformat() == "2026-02-01T00:00:00+01:00"


def test_refresh_settings_load_and_apply_per_tenant_overrides() -> None:
    tenant = uuid.uuid4()
    settings = parse_refresh_settings(
        {
            "refresh": {"cron": "30 5 * * 1-5", "timezone": "Europe/Berlin"},
            "aging": {
                "threshold_days": 14,
                "cycle_threshold_days": 90,
                "tenants": {str(tenant): {"threshold_days": 30}},
            },
        }
    )
    assert settings.aging_for(tenant).threshold_days == 30
    assert settings.aging_for(tenant).cycle_threshold_days == 90  # inherited
    assert settings.aging_for(uuid.uuid4()).threshold_days == 14
    assert load_refresh_settings().cron  # the shipped file is valid


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"refresh": {"cron": "every day"}, "aging": {"threshold_days": 1}}, "refresh.cron"),
        (
            {
                "refresh": {"cron": "0 6 * * *", "timezone": "Mars/Olympus"},
                "aging": {"threshold_days": 1},
            },
            "refresh.timezone",
        ),
        (
            {"refresh": {"cron": "0 6 * * *"}, "aging": {"threshold_days": -1}},
            "aging.threshold_days",
        ),
        ({"refresh": {"cron": "0 6 * * *"}, "aging": {}}, "aging.threshold_days"),
        (
            {
                "refresh": {"cron": "0 6 * * *"},
                "aging": {"threshold_days": 1, "tenants": {"x": {}}},
            },
            "aging.tenants",
        ),
        # A breakdown of one report only (source, first_stage), a misspelling, a non-string.
        *(
            (
                {"refresh": {"cron": "0 6 * * *", "breakdown": value}, "aging": MINIMAL_AGING},
                "refresh.breakdown: must be one of 'user', 'group', 'none'",
            )
            for value in ("source", "first_stage", "USER", "", 1, False)
        ),
        *(
            (
                {"refresh": MINIMAL_REFRESH, "aging": MINIMAL_AGING, "retention": {"deal_days": v}},
                f"retention.deal_days: {reason}",
            )
            for v, reason in (
                (-1, "must be between 0 and 36500, not -1"),
                (36_501, "must be between 0 and 36500, not 36501"),
                ("90", "must be a whole number of days, not '90'"),
                (True, "must be a whole number of days, not True"),
                (30.5, "must be a whole number of days, not 30.5"),
            )
        ),
        (
            {"refresh": MINIMAL_REFRESH, "aging": MINIMAL_AGING, "retention": 90},
            r"retention: must be a table \(\[retention\]\)",
        ),
    ],
)
def test_bad_refresh_settings_name_the_key(document: dict[str, Any], key: str) -> None:
    with pytest.raises(RefreshSettingsError, match=f"^{key}"):
        parse_refresh_settings(document)


def test_breakdown_and_deal_retention_default_to_the_shipped_values() -> None:
    shipped = load_refresh_settings(SETTINGS_FILE)
    assert (shipped.breakdown, shipped.deal_retention_days) == ("user", 90)
    bare = parse_refresh_settings({"refresh": MINIMAL_REFRESH, "aging": MINIMAL_AGING})
    assert (bare.breakdown, bare.deal_retention_days) == ("user", DEFAULT_DEAL_RETENTION_DAYS)
    own = parse_refresh_settings(
        {
            "refresh": {**MINIMAL_REFRESH, "breakdown": "group"},
            "aging": MINIMAL_AGING,
            "retention": {"deal_days": 0},
        }
    )
    assert (own.breakdown, own.deal_retention_days) == ("group", 0)
    off = parse_refresh_settings(
        {"refresh": {**MINIMAL_REFRESH, "breakdown": "none"}, "aging": MINIMAL_AGING}
    )
    assert off.breakdown is None


def test_dyno_refresh_toml_names_the_settings_file_a_deployment_keeps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "refresh.toml"
    own.write_text(
        '[refresh]\ncron = "*/5 * * * *"\ntimezone = "Europe/Berlin"\n[aging]\nthreshold_days = 7\n'
    )
    monkeypatch.setenv(SETTINGS_ENV, str(own))
    settings = load_refresh_settings()
    assert (settings.cron, settings.timezone) == ("*/5 * * * *", "Europe/Berlin")
    assert settings.aging_default == AgingThresholds(threshold_days=7, cycle_threshold_days=None)

    monkeypatch.setenv(SETTINGS_ENV, str(tmp_path / "missing.toml"))
    with pytest.raises(
        RefreshSettingsError, match=f"^{SETTINGS_ENV}=.*missing.toml: cannot be read"
    ):
        load_refresh_settings()
    own.write_text("[refresh\n")
    monkeypatch.setenv(SETTINGS_ENV, str(own))
    with pytest.raises(RefreshSettingsError, match="is not valid TOML"):
        load_refresh_settings()

    monkeypatch.setenv(SETTINGS_ENV, "")  # set but empty: the project's own file
    assert load_refresh_settings() == load_refresh_settings(SETTINGS_FILE)


def test_tenants_are_discovered_from_the_data_including_new_ones(
    conn: psycopg.Connection[Any],
) -> None:
    tenants = discover_tenants(conn)
    assert {WL_TENANT, TWIN_A, TWIN_B, AG_TENANT} <= set(tenants)
    assert tenants == sorted(tenants)
    newcomer = uuid.uuid4()
    batch = CrmBatch()
    batch.deal(newcomer, pipeline_id=None, created_at=datetime.now(UTC))
    batch.write(conn)
    assert newcomer in discover_tenants(conn)


def freshness_reason_with_newest_entry(server_env: Env, newest: datetime) -> str | None:
    """dbt source freshness on a database whose newest deal and stage entry are ``newest``."""
    env = create_database(server_env, "dyno_test_fresh")
    try:
        with connect(env) as conn:
            create_source_tables(conn)
            batch = CrmBatch()
            tenant, pipeline, stage = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            batch.pipeline(tenant, "P", id=pipeline)
            batch.stage(tenant, pipeline, "Lead", 1, "NOT_STARTED", id=stage)
            deal = batch.deal(tenant, pipeline_id=pipeline, created_at=newest, amount=Decimal(1))
            batch.history(tenant, deal, [StageEntry(stage, pipeline, newest)])
            batch.write(conn)
        results = check_source_freshness(env)
        assert {r.source for r in results} == {
            "dyno_crm.deal",
            "dyno_crm.deal_pipeline_stage_state",
        }
        return stale_reason(results)
    finally:
        drop_database(server_env, env)


def test_freshness_flags_old_sources(server_env: Env) -> None:
    reason = freshness_reason_with_newest_entry(server_env, datetime.now(UTC) - timedelta(days=4))
    assert reason is not None
    assert "dyno_crm.deal_pipeline_stage_state: error" in reason


def test_freshness_passes_recent_sources(server_env: Env) -> None:
    assert (
        freshness_reason_with_newest_entry(server_env, datetime.now(UTC) - timedelta(hours=1))
        is None
    )
