"""The two deal reports as plain functions: the seeds' signatures, psycopg 3 connections.

``conn`` must reach a database where ``dyno-reports build`` has created the report storage
and built the dbt models. Each call validates every input first (``ReportInputError``,
nothing written), then records one run in ``dyno_crm.report_run`` with its fact rows and
returns the run id.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg

from orchestration.reports.errors import ReportOutcomeUnknownError, ReportRunError
from orchestration.reports.lifecycle import execute_report
from orchestration.reports.parameters import (
    AgingParameters,
    ReportInputError,
    RunLimits,
    WinLossParameters,
    parse_uuid,
)
from orchestration.reports.recovery import StaleRun, recover_stale_run_details, recover_stale_runs
from orchestration.reports.requests import RequestInProgressError

__all__ = [
    "AgingParameters",
    "ReportInputError",
    "ReportOutcomeUnknownError",
    "ReportRunError",
    "RequestInProgressError",
    "RunLimits",
    "StaleRun",
    "WinLossParameters",
    "recover_stale_run_details",
    "recover_stale_runs",
    "run_deal_aging_report",
    "run_deal_win_loss_report",
]

UuidLike = uuid.UUID | str


def run_deal_win_loss_report(
    conn: psycopg.Connection[Any],
    tenant_id: UuidLike,
    period_start: datetime,
    period_end: datetime,
    pipeline_id: UuidLike | None = None,
    principal_type: str | None = None,
    principal_id: UuidLike | None = None,
    source: str | None = None,
    stage_id: UuidLike | None = None,
    *,
    breakdown: str | None = None,
    store_deals: bool = True,
    lock_timeout_ms: int | None = None,
    statement_timeout_ms: int | None = None,
    request_id: UuidLike | None = None,
) -> uuid.UUID:
    """Deal Win/Loss Analysis for one tenant over ``[period_start, period_end)``.

    One fact row per deal pipeline (deals without one share a NULL row). ``principal_type``
    ``USER`` matches the owning or assigned user, ``GROUP`` the owning or assigned group;
    ``stage_id`` filters on the first stage each deal entered.

    ``breakdown`` (``user``, ``group``, ``source`` or ``first_stage``) adds, per value of
    that dimension, the rows the same run filtered by the value would store (per pipeline
    and across all pipelines), and the row across all pipelines; each such row is marked
    (``breakdown``, ``all_pipelines``). ``store_deals`` (default true) keeps the deals the
    run counted (``dyno-reports deals RUN_ID``).

    ``lock_timeout_ms`` (default 60 s) bounds every lock wait and ``statement_timeout_ms``
    (default 30 min) every statement of the run; reaching either ends the run ``FAILED``
    with the reason (``ReportRunError``).

    ``request_id`` (a UUID of the caller's) makes the call exactly-once: a second call with
    it returns the run that SUCCEEDED instead of storing another, runs again after a FAILED
    one, refuses while one is IN_PROGRESS (``RequestInProgressError``) and refuses other
    parameters (``ReportInputError``).
    """
    params = WinLossParameters.validate(
        tenant_id=tenant_id,
        period_start=period_start,
        period_end=period_end,
        pipeline_id=pipeline_id,
        principal_type=principal_type,
        principal_id=principal_id,
        source=source,
        stage_id=stage_id,
        breakdown=breakdown,
        store_deals=store_deals,
    )
    limits = RunLimits.validate(lock_timeout_ms, statement_timeout_ms)
    return execute_report(conn, params, limits, parse_uuid("request_id", request_id))


def run_deal_aging_report(
    conn: psycopg.Connection[Any],
    tenant_id: UuidLike,
    threshold_days: int,
    cycle_threshold_days: int | None = None,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
    pipeline_id: UuidLike | None = None,
    principal_type: str | None = None,
    principal_id: UuidLike | None = None,
    stage_id: UuidLike | None = None,
    *,
    breakdown: str | None = None,
    store_deals: bool = True,
    stage_threshold_days: Mapping[UuidLike, int] | None = None,
    lock_timeout_ms: int | None = None,
    statement_timeout_ms: int | None = None,
    request_id: UuidLike | None = None,
) -> uuid.UUID:
    """Deal Aging / At-Risk for one tenant, as of ``period_end`` (else the run's start).

    Open deals whose current stage was entered in the optional period; one fact row per
    (pipeline, current stage). A deal is at risk after more than ``threshold_days`` in its
    stage or, when given, more than ``cycle_threshold_days`` since it was created.
    ``stage_threshold_days`` (stage id -> days) replaces ``threshold_days`` for those stages
    (each must be a stage of the tenant). ``breakdown`` (``user`` or ``group``) adds the
    rows per value, per pipeline and stage, per pipeline across its stages and across
    everything, and the rows across all stages and all pipelines (marked ``breakdown``,
    ``all_pipelines``, ``all_stages``). ``store_deals``, timeouts and ``request_id`` as for
    ``run_deal_win_loss_report``.
    """
    params = AgingParameters.validate(
        tenant_id=tenant_id,
        threshold_days=threshold_days,
        cycle_threshold_days=cycle_threshold_days,
        period_start=period_start,
        period_end=period_end,
        pipeline_id=pipeline_id,
        principal_type=principal_type,
        principal_id=principal_id,
        stage_id=stage_id,
        breakdown=breakdown,
        store_deals=store_deals,
        stage_threshold_days=stage_threshold_days,
    )
    limits = RunLimits.validate(lock_timeout_ms, statement_timeout_ms)
    return execute_report(conn, params, limits, parse_uuid("request_id", request_id))
