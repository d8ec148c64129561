"""The standard report set a scheduled refresh produces for one tenant.

Win/loss for the complete day, week and month before the refresh (unfiltered), and aging as
of the refresh instant with the tenant's thresholds from ``refresh.toml``. Every one of them
breaks its rows down by the settings' ``breakdown`` (per user by default): the same run then
stores the seeds' rows unchanged plus the per-value rows and totals, so the breakdown needs
no runs of its own. The set depends only on the tenant, the refresh instant and the settings,
so re-running a refresh's partition reproduces the same reports.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from orchestration.refresh.calendar import standard_periods
from orchestration.refresh.config import RefreshSettings
from orchestration.reports.parameters import (
    AgingParameters,
    WinLossParameters,
    parse_aware_datetime,
)


@dataclass(frozen=True)
class StandardWinLoss:
    period_name: str
    parameters: WinLossParameters


@dataclass(frozen=True)
class StandardReports:
    tenant_id: uuid.UUID
    refreshed_at: datetime
    win_loss: tuple[StandardWinLoss, ...]
    aging: AgingParameters


def standard_win_loss(
    tenant_id: uuid.UUID, refreshed_at: datetime, settings: RefreshSettings
) -> tuple[StandardWinLoss, ...]:
    return tuple(
        StandardWinLoss(
            period_name=period.name,
            parameters=WinLossParameters.validate(
                tenant_id=tenant_id,
                period_start=period.start,
                period_end=period.end,
                breakdown=settings.breakdown,
            ),
        )
        for period in standard_periods(refreshed_at, settings.zone)
    )


def standard_aging(
    tenant_id: uuid.UUID, refreshed_at: datetime, settings: RefreshSettings
) -> AgingParameters:
    # As of the refresh (period_end), not of whenever the run happens to start: a retried
    # or queued run then reports the same instant the models were built for.
    thresholds = settings.aging_for(tenant_id)
    return AgingParameters.validate(
        tenant_id=tenant_id,
        threshold_days=thresholds.threshold_days,
        cycle_threshold_days=thresholds.cycle_threshold_days,
        period_end=refreshed_at,
        breakdown=settings.breakdown,
    )


def standard_reports(
    tenant_id: uuid.UUID, refreshed_at: datetime, settings: RefreshSettings
) -> StandardReports:
    """Every standard report of ``tenant_id`` for the refresh at ``refreshed_at``."""
    at = parse_aware_datetime("refreshed_at", refreshed_at, required=True)
    assert at is not None
    return StandardReports(
        tenant_id=tenant_id,
        refreshed_at=at,
        win_loss=standard_win_loss(tenant_id, at, settings),
        aging=standard_aging(tenant_id, at, settings),
    )
