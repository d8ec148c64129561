"""Run config of the two report assets: the tenant, every filter and option of each report.

Dagster config has no UUID or datetime types, so those are strings; the validators turn
them into the API's validated parameters when the config is loaded, before the asset body
runs, so a bad value fails the step naming the field and nothing is written. The rules
and messages are those of ``orchestration.reports.parameters``, the same as everywhere.
"""

from typing import Self

import dagster as dg
from pydantic import Field, model_validator

from orchestration.reports.parameter_text import DATETIME_FORMS, parse_datetime_text
from orchestration.reports.parameters import (
    AGING_BREAKDOWNS,
    DEFAULT_LOCK_TIMEOUT_MS,
    DEFAULT_STATEMENT_TIMEOUT_MS,
    MAX_THRESHOLD_DAYS,
    WIN_LOSS_BREAKDOWNS,
    AgingParameters,
    RunLimits,
    WinLossParameters,
)

_UUID = "a UUID"
_PERIOD_START = f"Start of the period, inclusive: {DATETIME_FORMS}."
_PERIOD_END = f"End of the period, exclusive: {DATETIME_FORMS}."
_PRINCIPAL_TYPE = "USER (owning or assigned user) or GROUP (owning or assigned group)."
# What a breakdown row means, for both reports (the README states it too).
_BREAKDOWN_MEANING = (
    "A breakdown row for value v equals the same run filtered by v: user/group as the"
    " principal filter USER/GROUP (owning or assigned, so a deal owned by one user and"
    " assigned to another counts in both users' rows), source as the source filter,"
    " first_stage as the stage_id filter; deals with no value get a row of their own, never"
    " a total. The seeds' rows are stored unchanged beside them. Every extra row is marked:"
    " breakdown (the dimension; null on the seeds' rows), all_pipelines"
)
_WIN_LOSS_BREAKDOWN = (
    f"Break the rows down by one of: {', '.join(WIN_LOSS_BREAKDOWNS)}. {_BREAKDOWN_MEANING}."
    " Adds the per-value rows per pipeline and across all pipelines, and the row across all"
    " pipelines. Not with the filter of the same dimension."
)
_AGING_BREAKDOWN = (
    f"Break the rows down by one of: {', '.join(AGING_BREAKDOWNS)}. {_BREAKDOWN_MEANING},"
    " all_stages. Adds the per-value rows per (pipeline, stage), per pipeline across its"
    " stages and across everything, and the rows across all stages of each pipeline and"
    " across everything. Not with the principal filter."
)
_STORE_DEALS = (
    "Also store the deals the run counted (`dyno-reports deals RUN_ID`); false keeps facts only."
)


class RunLimitsConfig(dg.Config):
    """Bounds of one report run (defaults: the API's)."""

    lock_timeout_ms: int | None = Field(
        default=None,
        description=f"Longest wait for a lock, in ms (default {DEFAULT_LOCK_TIMEOUT_MS}).",
    )
    statement_timeout_ms: int | None = Field(
        default=None,
        description=f"Longest statement, in ms (default {DEFAULT_STATEMENT_TIMEOUT_MS}).",
    )

    def limits(self) -> RunLimits:
        return RunLimits.validate(self.lock_timeout_ms, self.statement_timeout_ms)


class WinLossReportConfig(RunLimitsConfig):
    """Deal Win/Loss Analysis for one tenant: deals closed won or lost in the period."""

    tenant_id: str = Field(description=f"The tenant, {_UUID}.")
    period_start: str = Field(description=_PERIOD_START)
    period_end: str = Field(description=_PERIOD_END)
    pipeline_id: str | None = Field(default=None, description=f"Only this pipeline, {_UUID}.")
    principal_type: str | None = Field(default=None, description=_PRINCIPAL_TYPE)
    principal_id: str | None = Field(default=None, description=f"The user or group, {_UUID}.")
    source: str | None = Field(default=None, description="Only deals with this exact source.")
    stage_id: str | None = Field(
        default=None, description=f"Only deals whose first stage was this one, {_UUID}."
    )
    breakdown: str | None = Field(
        default=None,
        description=_WIN_LOSS_BREAKDOWN,
    )
    store_deals: bool = Field(default=True, description=_STORE_DEALS)

    @model_validator(mode="after")
    def _check(self) -> Self:
        self.parameters()  # ReportInputError is a ValueError: pydantic reports it
        self.limits()
        return self

    def parameters(self) -> WinLossParameters:
        return WinLossParameters.validate(
            tenant_id=self.tenant_id,
            period_start=parse_datetime_text("period_start", self.period_start),
            period_end=parse_datetime_text("period_end", self.period_end),
            pipeline_id=self.pipeline_id,
            principal_type=self.principal_type,
            principal_id=self.principal_id,
            source=self.source,
            stage_id=self.stage_id,
            breakdown=self.breakdown,
            store_deals=self.store_deals,
        )


class AgingReportConfig(RunLimitsConfig):
    """Deal Aging / At-Risk for one tenant: open deals, as of period_end or the run's start."""

    tenant_id: str = Field(description=f"The tenant, {_UUID}.")
    threshold_days: int = Field(description="At risk after more than this many days in a stage.")
    cycle_threshold_days: int | None = Field(
        default=None, description="Also at risk after more than this many days since creation."
    )
    period_start: str | None = Field(
        default=None, description=f"Only deals whose stage was entered from here. {_PERIOD_START}"
    )
    period_end: str | None = Field(
        default=None, description=f"The as-of time; defaults to the run's start. {_PERIOD_END}"
    )
    pipeline_id: str | None = Field(default=None, description=f"Only this pipeline, {_UUID}.")
    principal_type: str | None = Field(default=None, description=_PRINCIPAL_TYPE)
    principal_id: str | None = Field(default=None, description=f"The user or group, {_UUID}.")
    stage_id: str | None = Field(default=None, description=f"Only this current stage, {_UUID}.")
    stage_threshold_days: dict[str, int] | None = Field(
        default=None,
        description=(
            "Per-stage thresholds: stage id (a UUID, a stage of the tenant) -> days, 0 to"
            f" {MAX_THRESHOLD_DAYS}; threshold_days applies to every other stage. Each fact"
            " row's threshold_days is the threshold of its stage."
        ),
    )
    breakdown: str | None = Field(
        default=None,
        description=_AGING_BREAKDOWN,
    )
    store_deals: bool = Field(default=True, description=_STORE_DEALS)

    @model_validator(mode="after")
    def _check(self) -> Self:
        self.parameters()
        self.limits()
        return self

    def parameters(self) -> AgingParameters:
        return AgingParameters.validate(
            tenant_id=self.tenant_id,
            threshold_days=self.threshold_days,
            cycle_threshold_days=self.cycle_threshold_days,
            period_start=parse_datetime_text("period_start", self.period_start),
            period_end=parse_datetime_text("period_end", self.period_end),
            pipeline_id=self.pipeline_id,
            principal_type=self.principal_type,
            principal_id=self.principal_id,
            stage_id=self.stage_id,
            breakdown=self.breakdown,
            store_deals=self.store_deals,
            stage_threshold_days=self.stage_threshold_days,
        )
