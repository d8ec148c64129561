"""Hostile strings in every input of both reports: refused with the field's name and nothing
written, or (the free-text source) taken as plain data that matches nothing."""

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

from report_rows import fact_count, header
from robustness_figures import FIGURES
from scenarios import Q1_END, Q1_START, WL_TENANT

Conn = psycopg.Connection[Any]

HOSTILE = [
    "'; drop table dyno_crm.deal; --",
    "1' or '1'='1",
    "'); delete from dyno_crm.report_run; --",
    '"; select pg_sleep(10); --',
    "$$ || pg_sleep(1) || $$",
    "%(tenant_id)s",
    "%s",
    "{}",
    "\\",
    "\u202e\u0000",
    "\x00",
    "x" * 10_000,
]
UUID_FIELDS = ["tenant_id", "pipeline_id", "principal_id", "stage_id"]
WIN_LOSS: dict[str, Any] = {"tenant_id": WL_TENANT, "period_start": Q1_START, "period_end": Q1_END}
AGING: dict[str, Any] = {"tenant_id": WL_TENANT, "threshold_days": 10}


def crm_and_report_counts(conn: Conn) -> tuple[int, ...]:
    row = conn.execute(
        "select (select count(*) from dyno_crm.deal),"
        " (select count(*) from dyno_crm.deal_pipeline_stage_state),"
        " (select count(*) from dyno_crm.pipeline), (select count(*) from dyno_crm.pipeline_stage),"
        " (select count(*) from dyno_crm.report_run)"
    ).fetchone()
    conn.rollback()
    assert row is not None
    return tuple(row)


def refused(conn: Conn, report: Any, params: dict[str, Any], field: str) -> None:
    before = crm_and_report_counts(conn)
    with pytest.raises(ReportInputError) as raised:
        report(conn, **params)
    FIGURES.add(bad_inputs_tried=1)
    assert raised.value.field == field
    assert str(raised.value).startswith(f"{field}: ")
    assert crm_and_report_counts(conn) == before


@pytest.mark.parametrize("field", UUID_FIELDS)
def test_hostile_ids_are_refused_naming_the_field(conn: Conn, field: str) -> None:
    for value in HOSTILE:
        extra = {"principal_type": "USER"} if field == "principal_id" else {}
        refused(conn, run_deal_win_loss_report, {**WIN_LOSS, **extra, field: value}, field)
        refused(conn, run_deal_aging_report, {**AGING, **extra, field: value}, field)


def test_hostile_principal_types_are_refused(conn: Conn) -> None:
    for value in [*HOSTILE, "user", "USER ", "GROUP\x00", ""]:
        params = {"principal_type": value, "principal_id": uuid.uuid4()}
        refused(conn, run_deal_win_loss_report, {**WIN_LOSS, **params}, "principal_type")
        refused(conn, run_deal_aging_report, {**AGING, **params}, "principal_type")


def test_hostile_sources_are_refused_or_are_plain_data(conn: Conn) -> None:
    before = crm_and_report_counts(conn)
    accepted = 0
    for value in HOSTILE:
        if "\x00" in value or len(value) > 200:
            refused(conn, run_deal_win_loss_report, {**WIN_LOSS, "source": value}, "source")
            continue
        run_id = run_deal_win_loss_report(conn, **WIN_LOSS, source=value)
        FIGURES.add(bad_inputs_tried=1, runs_attempted=1, runs_succeeded=1)
        run = header(conn, run_id)
        assert run["status"] == "SUCCEEDED"
        assert run["input_params"]["source"] == value  # stored verbatim, as data
        assert fact_count(conn, run_id) == 0  # no deal has such a source
        accepted += 1
    assert accepted == 9
    deals, entries, pipelines, stages, runs = crm_and_report_counts(conn)
    assert (deals, entries, pipelines, stages) == before[:4]
    assert runs == before[4] + accepted


@pytest.mark.parametrize("text", ["caf\udce9", "\ud800", "a\udfffb"])
def test_a_source_that_is_not_utf8_text_is_refused_naming_it(conn: Conn, text: str) -> None:
    refused(conn, run_deal_win_loss_report, {**WIN_LOSS, "source": text}, "source")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        # Each is a valid aware datetime whose UTC instant is outside the years 1 to 9999,
        # which PostgreSQL would store and Python could never read back.
        ("period_end", datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-14)))),
        ("period_start", datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))),
    ],
)
def test_a_time_outside_the_readable_years_is_refused_naming_it(
    conn: Conn, field: str, value: datetime
) -> None:
    params = {**WIN_LOSS, field: value}
    if field == "period_end":
        refused(conn, run_deal_aging_report, {**AGING, "period_end": value}, field)
    else:
        params["period_end"] = datetime(2025, 1, 1, tzinfo=UTC)
    refused(conn, run_deal_win_loss_report, params, field)


@pytest.mark.parametrize("value", ["0" * 8 + "_" + "0" * 23, "\u0661" * 32, "\uff11" * 32])
def test_ids_in_other_digits_or_with_underscores_are_refused(conn: Conn, value: str) -> None:
    refused(conn, run_deal_win_loss_report, {**WIN_LOSS, "tenant_id": value}, "tenant_id")


@pytest.mark.parametrize("field", ["lock_timeout_ms", "statement_timeout_ms"])
@pytest.mark.parametrize("value", [-1, 0, 24 * 3_600_000 + 1, 2**63, 1.5, "100", True, "1; --"])
def test_bad_timeouts_are_refused_naming_the_field(conn: Conn, field: str, value: object) -> None:
    refused(conn, run_deal_win_loss_report, {**WIN_LOSS, field: value}, field)
    refused(conn, run_deal_aging_report, {**AGING, field: value}, field)


def test_an_unknown_tenant_gives_an_empty_successful_run(conn: Conn) -> None:
    for run_id in (
        run_deal_win_loss_report(conn, uuid.uuid4(), Q1_START, Q1_END),
        run_deal_aging_report(conn, uuid.uuid4(), 10),
    ):
        FIGURES.add(runs_attempted=1, runs_succeeded=1)
        run = header(conn, run_id)
        assert run["status"] == "SUCCEEDED"
        assert run["fact_count"] == 0
        assert fact_count(conn, run_id) == 0
    assert FIGURES.audit(conn).ok
