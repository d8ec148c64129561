"""The report configurations the benchmark times: each report, large and small tenant,
quarter and year, without and with each filter."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from bench.data import Dataset

ReportKind = Literal["win_loss", "aging"]

QUARTER: Final = (datetime(2025, 4, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC))
YEAR: Final = (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))
THRESHOLD_DAYS: Final = 14
CYCLE_THRESHOLD_DAYS: Final = 90
# Every filter of the seeds' SQL; the API leaves out the ones a report does not have.
WIN_LOSS_FILTERS: Final = ("pipeline_id", "principal_type", "principal_id", "source", "stage_id")
AGING_FILTERS: Final = ("pipeline_id", "principal_type", "principal_id", "stage_id")


@dataclass(frozen=True)
class Case:
    """One report call: which report, on which tenant, with which API arguments."""

    report: ReportKind
    tenant: str  # "large", "small", or "none" (a tenant without deals)
    label: str
    params: dict[str, Any] = field(hash=False)

    @property
    def name(self) -> str:
        return f"{self.report} {self.tenant} {self.label}"

    @property
    def tenant_id(self) -> uuid.UUID:
        tenant_id: uuid.UUID = self.params["tenant_id"]
        return tenant_id

    def seed_params(self) -> dict[str, Any]:
        """The seeds' SQL parameters: every filter present, NULL when not given."""
        filters = WIN_LOSS_FILTERS if self.report == "win_loss" else AGING_FILTERS
        defaults: dict[str, Any] = dict.fromkeys(filters)
        if self.report == "aging":
            defaults.update(cycle_threshold_days=None, period_start=None, period_end=None)
        return {**defaults, **self.params}

    def floor_params(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "period_start": self.params.get("period_start"),
            "period_end": self.params.get("period_end"),
        }

    @property
    def as_of_is_now(self) -> bool:
        """An aging run without period_end ages deals as of its own start time."""
        return self.report == "aging" and self.params.get("period_end") is None


def tenant_cases(dataset: Dataset, tenant: int, size: str) -> list[Case]:
    tenant_id = dataset.tenant_id(tenant)
    pipeline = dataset.pipeline_id(tenant, 0)
    user = {"principal_type": "USER", "principal_id": dataset.user_id(tenant, 0)}
    group = {"principal_type": "GROUP", "principal_id": dataset.group_id(tenant, 0)}
    quarter = {"tenant_id": tenant_id, "period_start": QUARTER[0], "period_end": QUARTER[1]}
    year = {"tenant_id": tenant_id, "period_start": YEAR[0], "period_end": YEAR[1]}

    def win_loss(label: str, params: dict[str, Any]) -> Case:
        return Case("win_loss", size, label, params)

    def aging(label: str, params: dict[str, Any]) -> Case:
        base = {"threshold_days": THRESHOLD_DAYS, "cycle_threshold_days": CYCLE_THRESHOLD_DAYS}
        return Case("aging", size, label, {**base, **params})

    return [
        win_loss("quarter", quarter),
        win_loss("year", year),
        win_loss("quarter, pipeline", {**quarter, "pipeline_id": pipeline}),
        win_loss("quarter, USER", {**quarter, **user}),
        win_loss("quarter, GROUP", {**quarter, **group}),
        win_loss("quarter, source", {**quarter, "source": "web"}),
        win_loss("quarter, first stage", {**quarter, "stage_id": dataset.stage_id(tenant, 0, 1)}),
        win_loss(
            "year, all filters",
            {
                **year,
                **user,
                "pipeline_id": pipeline,
                "source": "referral",
                "stage_id": dataset.stage_id(tenant, 0, 1),
            },
        ),
        aging("quarter", quarter),
        aging("year", year),
        aging("all open, no period", {"tenant_id": tenant_id}),
        aging("all open, no cycle", {"tenant_id": tenant_id, "cycle_threshold_days": None}),
        aging("quarter, threshold 0", {**quarter, "threshold_days": 0}),
        aging("quarter, pipeline", {**quarter, "pipeline_id": pipeline}),
        aging("quarter, USER", {**quarter, **user}),
        aging("quarter, GROUP", {**quarter, **group}),
        aging("quarter, stage", {**quarter, "stage_id": dataset.stage_id(tenant, 0, 2)}),
    ]


def fixed_cost_cases(dataset: Dataset) -> list[Case]:
    """A tenant without deals: what a run costs besides reading rows (header, commits)."""
    tenant_id = dataset.tenant_id(0)  # tenants are numbered from 1
    quarter = {"tenant_id": tenant_id, "period_start": QUARTER[0], "period_end": QUARTER[1]}
    return [
        Case("win_loss", "none", "no deals: fixed cost", quarter),
        Case("aging", "none", "no deals: fixed cost", {**quarter, "threshold_days": 14}),
    ]


def all_cases(dataset: Dataset) -> list[Case]:
    """Small tenant first, so that the peak memory after the large one shows any growth."""
    return (
        fixed_cost_cases(dataset)
        + tenant_cases(dataset, 2, "small")
        + tenant_cases(dataset, 1, "large")
    )
