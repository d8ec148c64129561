"""The scheduled refresh's configuration, ``orchestration/refresh/refresh.toml``, validated on load.

Read once, when the Dagster definitions are built (``orchestration.defs.definitions``), and
handed to what needs it; a change takes effect when the code location is reloaded.
"""

from __future__ import annotations

import os
import tomllib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orchestration.reports.parameters import (
    AGING_BREAKDOWNS,
    WIN_LOSS_BREAKDOWNS,
    Breakdown,
    ReportInputError,
    parse_threshold,
    require_uuid,
)
from orchestration.reports.retention import DEFAULT_DEAL_RETENTION_DAYS

SETTINGS_FILE = Path(__file__).resolve().parent / "refresh.toml"
# Names another refresh.toml to use instead (production deployments).
SETTINGS_ENV: Final = "DYNO_REFRESH_TOML"
# The standard reports' breakdown: one both reports offer, or "none" for the seeds' rows only.
STANDARD_BREAKDOWNS: Final[tuple[Breakdown, ...]] = tuple(
    name for name in WIN_LOSS_BREAKDOWNS if name in AGING_BREAKDOWNS
)
NO_BREAKDOWN: Final = "none"
DEFAULT_STANDARD_BREAKDOWN: Final[Breakdown] = "user"


@dataclass(frozen=True)
class AgingThresholds:
    threshold_days: int
    cycle_threshold_days: int | None


@dataclass(frozen=True)
class RefreshSettings:
    cron: str
    timezone: str
    skip_when_sources_stale: bool
    aging_default: AgingThresholds
    aging_overrides: dict[uuid.UUID, AgingThresholds] = field(default_factory=dict)
    # Of both standard reports (None: the seeds' rows only); `[refresh] breakdown`.
    breakdown: Breakdown | None = DEFAULT_STANDARD_BREAKDOWN
    # Deal rows of runs older than this many days are deleted; `[retention] deal_days`.
    deal_retention_days: int = DEFAULT_DEAL_RETENTION_DAYS

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def aging_for(self, tenant_id: uuid.UUID) -> AgingThresholds:
        return self.aging_overrides.get(tenant_id, self.aging_default)


class RefreshSettingsError(ValueError):
    """refresh.toml has a value the refresh cannot use; the message names the key."""


def _thresholds(
    table: dict[str, Any], where: str, default: AgingThresholds | None
) -> AgingThresholds:
    try:
        threshold = parse_threshold(
            f"{where}.threshold_days",
            table.get("threshold_days", default.threshold_days if default else None),
            required=True,
        )
        cycle = parse_threshold(
            f"{where}.cycle_threshold_days",
            table.get("cycle_threshold_days", default.cycle_threshold_days if default else None),
            required=False,
        )
    except ReportInputError as error:
        raise RefreshSettingsError(str(error)) from None
    assert threshold is not None
    return AgingThresholds(threshold_days=threshold, cycle_threshold_days=cycle)


def _breakdown(refresh: dict[str, Any]) -> Breakdown | None:
    value = refresh.get("breakdown", DEFAULT_STANDARD_BREAKDOWN)
    if value == NO_BREAKDOWN:
        return None
    for name in STANDARD_BREAKDOWNS:
        if value == name:
            return name
    names = ", ".join(repr(name) for name in (*STANDARD_BREAKDOWNS, NO_BREAKDOWN))
    raise RefreshSettingsError(
        f"refresh.breakdown: must be one of {names} (a breakdown both standard reports offer),"
        f" not {value!r}"
    )


def _deal_retention_days(document: dict[str, Any]) -> int:
    retention = document.get("retention", {})
    if not isinstance(retention, dict):
        raise RefreshSettingsError("retention: must be a table ([retention])")
    try:
        days = parse_threshold(
            "retention.deal_days",
            retention.get("deal_days", DEFAULT_DEAL_RETENTION_DAYS),
            required=True,
        )
    except ReportInputError as error:
        raise RefreshSettingsError(str(error)) from None
    assert days is not None
    return days


def parse_refresh_settings(document: dict[str, Any]) -> RefreshSettings:
    refresh = document.get("refresh", {})
    cron = refresh.get("cron")
    if not isinstance(cron, str) or len(cron.split()) != 5:
        raise RefreshSettingsError(f"refresh.cron: must be a 5-field cron string, not {cron!r}")
    timezone = refresh.get("timezone", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise RefreshSettingsError(f"refresh.timezone: unknown time zone {timezone!r}") from None
    skip = refresh.get("skip_when_sources_stale", True)
    if not isinstance(skip, bool):
        raise RefreshSettingsError("refresh.skip_when_sources_stale: must be true or false")
    aging = document.get("aging", {})
    default = _thresholds(aging, "aging", None)
    overrides: dict[uuid.UUID, AgingThresholds] = {}
    for tenant, table in aging.get("tenants", {}).items():
        try:
            tenant_id = require_uuid("aging.tenants", tenant)
        except ReportInputError as error:
            raise RefreshSettingsError(str(error)) from None
        overrides[tenant_id] = _thresholds(table, f"aging.tenants.{tenant}", default)
    return RefreshSettings(
        cron=cron,
        timezone=timezone,
        skip_when_sources_stale=skip,
        aging_default=default,
        aging_overrides=overrides,
        breakdown=_breakdown(refresh),
        deal_retention_days=_deal_retention_days(document),
    )


def settings_path(environ: Mapping[str, str] | None = None) -> Path:
    """The refresh.toml in effect: ``$DYNO_REFRESH_TOML`` when set, else the project's own.

    A deployment keeps its own schedule and thresholds outside the code this way.
    """
    configured = (os.environ if environ is None else environ).get(SETTINGS_ENV, "")
    return Path(configured) if configured else SETTINGS_FILE


def load_refresh_settings(path: Path | None = None) -> RefreshSettings:
    """The settings of ``path`` (default: ``settings_path()``), validated."""
    chosen = settings_path() if path is None else path
    where = str(chosen) if chosen == SETTINGS_FILE else f"{SETTINGS_ENV}={chosen}"
    try:
        with chosen.open("rb") as handle:
            document = tomllib.load(handle)
    except OSError as error:
        raise RefreshSettingsError(f"{where}: cannot be read ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise RefreshSettingsError(f"{where}: is not valid TOML ({error})") from None
    return parse_refresh_settings(document)
