"""The report configurations the benchmark times: each report, large and small tenant,
quarter and year, without and with each filter.

Every case says whether the run stores its deals (``store_deals``, the API's default since
issue 15): the cases measured before deals existed pass ``store_deals=False``, so that their
figures stay comparable with the earlier runs; the cases "…, with deals" store them (the
default call), some with a breakdown. The seeds' SQL and the checks only ever see the
seeds' rows of a run (``bench/checks.py``)."""

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
# API keywords beyond the seeds' (issue 15): not passed to the seeds' SQL.
PROJECT_OPTIONS: Final = frozenset({"store_deals", "breakdown", "stage_threshold_days"})
WITHOUT_DEALS: Final = {"store_deals": False}
WITH_DEALS: Final = {"store_deals": True}


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
    def stores_deals(self) -> bool:
        """Whether the run keeps its deals (the API's default is true)."""
        return bool(self.params.get("store_deals", True))

    @property
    def tenant_id(self) -> uuid.UUID:
        tenant_id: uuid.UUID = self.params["tenant_id"]
        return tenant_id

    def seed_params(self) -> dict[str, Any]:
        """The seeds' SQL parameters: every filter present, NULL when not given; the
        options the seeds do not have (deals, breakdown) left out."""
        filters = WIN_LOSS_FILTERS if self.report == "win_loss" else AGING_FILTERS
        defaults: dict[str, Any] = dict.fromkeys(filters)
        if self.report == "aging":
            defaults.update(cycle_threshold_days=None, period_start=None, period_end=None)
        seeds = {k: v for k, v in self.params.items() if k not in PROJECT_OPTIONS}
        return {**defaults, **seeds}

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

    # Without deals unless a case says otherwise: as measured before store_deals existed.
    def win_loss(label: str, params: dict[str, Any]) -> Case:
        return Case("win_loss", size, label, {**WITHOUT_DEALS, **params})

    def aging(label: str, params: dict[str, Any]) -> Case:
        base = {"threshold_days": THRESHOLD_DAYS, "cycle_threshold_days": CYCLE_THRESHOLD_DAYS}
        return Case("aging", size, label, {**base, **WITHOUT_DEALS, **params})

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


def deal_cases(dataset: Dataset, tenant: int, size: str) -> list[Case]:
    """The default call (deals stored), and with deals and a per-user breakdown (issue 15:
    big tenant, one quarter, with deals, under 100 ms; all open deals under 1.5 s)."""
    tenant_id = dataset.tenant_id(tenant)
    quarter = {"tenant_id": tenant_id, "period_start": QUARTER[0], "period_end": QUARTER[1]}
    aging = {"threshold_days": THRESHOLD_DAYS, "cycle_threshold_days": CYCLE_THRESHOLD_DAYS}
    by_user = {"breakdown": "user"}
    return [
        Case("win_loss", size, "quarter, with deals", {**quarter, **WITH_DEALS}),
        Case(
            "win_loss",
            size,
            "quarter, by user, with deals",
            {**quarter, **by_user, **WITH_DEALS},
        ),
        Case("aging", size, "quarter, with deals", {**aging, **quarter, **WITH_DEALS}),
        Case(
            "aging",
            size,
            "quarter, by user, with deals",
            {**aging, **quarter, **by_user, **WITH_DEALS},
        ),
        Case(
            "aging",
            size,
            "all open, no period, with deals",
            {**aging, "tenant_id": tenant_id, **WITH_DEALS},
        ),
    ]


def fixed_cost_cases(dataset: Dataset) -> list[Case]:
    """A tenant without deals: what a run costs besides reading rows (header, commits);
    with ``store_deals`` false as before, and as the default call (deals stored: aging then
    runs its other statement, aging_detail.sql)."""
    tenant_id = dataset.tenant_id(0)  # tenants are numbered from 1
    quarter = {"tenant_id": tenant_id, "period_start": QUARTER[0], "period_end": QUARTER[1]}
    aging = {**quarter, "threshold_days": 14}
    return [
        Case("win_loss", "none", "no deals: fixed cost", {**quarter, **WITHOUT_DEALS}),
        Case("aging", "none", "no deals: fixed cost", {**aging, **WITHOUT_DEALS}),
        Case("win_loss", "none", "no deals: fixed cost, with deals", {**quarter, **WITH_DEALS}),
        Case("aging", "none", "no deals: fixed cost, with deals", {**aging, **WITH_DEALS}),
    ]


def all_cases(dataset: Dataset) -> list[Case]:
    """Small tenant first, so that the peak memory after the large one shows any growth."""
    return (
        fixed_cost_cases(dataset)
        + tenant_cases(dataset, 2, "small")
        + tenant_cases(dataset, 1, "large")
        + deal_cases(dataset, 1, "large")
    )
