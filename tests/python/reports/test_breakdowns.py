"""Breakdowns (issue 15, part 1): a value's row is the run filtered by that value, the totals
are the sums of the rows they total, and the seeds' rows stay exactly as they were.

On the demo's sample data (``create_demo_database``: three tenants, a year of deals, NULL
sources, deals without a pipeline, deals owned by one user and assigned to another) and on
the hand-built scenarios (the random tenant's reopened deals, NULL owners and sources and
owners who are also assignees; the win/loss tenant's moved deal, first-stage tie and deal
without a pipeline; the aging tenants' deals without a pipeline and in another pipeline's
stage). Every expected number comes from other runs or from the data, never from a figure.
"""

from __future__ import annotations

import statistics
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from orchestration.db import connect
from orchestration.demo.sample_data import sample_tenants
from orchestration.demo.walkthrough import demo_until
from orchestration.reports import run_deal_aging_report, run_deal_win_loss_report
from orchestration.reports.parameters import AGING_BREAKDOWNS, WIN_LOSS_BREAKDOWNS

from conftest import Env, create_demo_database, drop_database
from report_rows import header
from scenarios import (
    AG_AS_OF,
    AG_GROUPS_TENANT,
    AG_NO_PIPELINE_TENANT,
    AG_TENANT,
    Q1_END,
    Q1_START,
    RANDOM,
    RANDOM_TENANT,
    WL_TENANT,
    WL_USER_1,
    WL_USER_2,
    at,
    uid,
)

Conn = psycopg.Connection[Any]
Row = dict[str, Any]

WIN_LOSS_COUNTS = (
    "deals_closed_won_count",
    "deals_closed_lost_count",
    "total_amount_won",
    "total_amount_lost",
    "closed_count",
)
AGING_COUNTS = ("at_risk_deal_count", "at_risk_amount", "total_deal_count", "total_amount")
# The seeds' input_params keys; an option of issue 15 is recorded only when it is given.
NEW_OPTIONS = {"breakdown", "store_deals", "stage_threshold_days"}


@dataclass(frozen=True)
class Tenant:
    """A tenant and the runs' fixed bounds: the win/loss period and the aging as-of time."""

    tenant_id: uuid.UUID
    period_start: datetime
    period_end: datetime
    as_of: datetime
    threshold_days: int = 14
    cycle_threshold_days: int | None = None


SCENARIO_TENANTS = [
    Tenant(RANDOM_TENANT, at("2024-10-01"), at("2026-01-01"), at("2025-12-01"), 14, 90),
    Tenant(WL_TENANT, Q1_START, Q1_END, AG_AS_OF),
    Tenant(AG_TENANT, Q1_START, Q1_END, AG_AS_OF, 10, 100),
    Tenant(AG_GROUPS_TENANT, Q1_START, Q1_END, AG_AS_OF),
    Tenant(AG_NO_PIPELINE_TENANT, Q1_START, Q1_END, AG_AS_OF, 30),
]


def demo_tenants(until: datetime) -> list[Tenant]:
    return [
        Tenant(tenant.id, until - timedelta(days=365), until, until, 14, 60)
        for tenant in sample_tenants()
    ]


@pytest.fixture(scope="module")
def demo_env(server_env: Env) -> Iterator[tuple[Env, datetime]]:
    until = demo_until()
    env = create_demo_database(server_env, "dyno_test_breakdowns")
    yield env, until
    drop_database(server_env, env)


@pytest.fixture(params=["demo", "scenarios"])
def dataset(request: pytest.FixtureRequest) -> Iterator[tuple[Conn, list[Tenant]]]:
    if request.param == "demo":
        env, until = request.getfixturevalue("demo_env")
        tenants = demo_tenants(until)
    else:
        env = request.getfixturevalue("built_env")
        tenants = SCENARIO_TENANTS
    with connect(env) as conn:
        yield conn, tenants


# --- Running and reading back ---------------------------------------------------------------


def rows_of(conn: Conn, table: str, run_id: uuid.UUID) -> list[Row]:
    """A run's rows of ``table`` without run_id, in a total order."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"select * from {table} where run_id = %s", (run_id,)).fetchall()
    conn.rollback()
    for row in rows:
        del row["run_id"]
    return sorted(rows, key=lambda row: tuple(str(value) for value in row.values()))


def win_loss(conn: Conn, tenant: Tenant, **options: Any) -> list[Row]:
    run_id = run_deal_win_loss_report(
        conn, tenant.tenant_id, tenant.period_start, tenant.period_end, **options
    )
    return rows_of(conn, "dyno_crm.report_deal_win_loss_fact", run_id)


def aging_run(conn: Conn, tenant: Tenant, **options: Any) -> uuid.UUID:
    options.setdefault("threshold_days", tenant.threshold_days)
    options.setdefault("cycle_threshold_days", tenant.cycle_threshold_days)
    return run_deal_aging_report(conn, tenant.tenant_id, period_end=tenant.as_of, **options)


def aging(conn: Conn, tenant: Tenant, **options: Any) -> list[Row]:
    return rows_of(conn, "dyno_crm.report_deal_aging_fact", aging_run(conn, tenant, **options))


def without(row: Row, *keys: str) -> Row:
    return {key: value for key, value in row.items() if key not in keys}


def q(value: Decimal, places: str) -> Decimal:
    """PostgreSQL's rounding of a positive numeric to ``places`` (half away from zero)."""
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


# --- Dimensions ------------------------------------------------------------------------------

FILTER_OF: dict[str, Callable[[Any], dict[str, Any]]] = {
    "user": lambda value: {"principal_type": "USER", "principal_id": value},
    "group": lambda value: {"principal_type": "GROUP", "principal_id": value},
    "source": lambda value: {"source": value},
    "first_stage": lambda value: {"stage_id": value},
}
# The column a breakdown's value sits in.
VALUE_COLUMN = {
    "user": "principal_id",
    "group": "principal_id",
    "source": "source",
    "first_stage": "stage_id",
}
# The tenant's values of each dimension in the CRM source: every value that can be filtered.
VALUES_SQL = {
    "user": "select owned_by_user_id from dyno_crm.deal where tenant_id = %(t)s"
    " union select assigned_user_id from dyno_crm.deal where tenant_id = %(t)s",
    "group": "select owned_by_group_id from dyno_crm.deal where tenant_id = %(t)s"
    " union select assigned_group_id from dyno_crm.deal where tenant_id = %(t)s",
    "source": "select distinct source from dyno_crm.deal where tenant_id = %(t)s",
    # each deal's earliest entry (a tie: the earlier stage in the pipeline's order)
    "first_stage": "select distinct on (entry.deal_id) entry.pipeline_stage_id"
    " from dyno_crm.deal_pipeline_stage_state as entry"
    " inner join dyno_crm.pipeline_stage as stage"
    " on entry.tenant_id = stage.tenant_id and entry.pipeline_stage_id = stage.id"
    " where entry.tenant_id = %(t)s"
    " order by entry.deal_id, entry.entered_at, stage.stage_order",
}
# The deal columns a breakdown's value comes from (a deal has one or two values).
DEAL_COLUMNS = {
    "user": ("owned_by_user_id", "assigned_user_id"),
    "group": ("owned_by_group_id", "assigned_group_id"),
    "source": ("source",),
    "first_stage": ("first_stage_id",),
}


def data_values(conn: Conn, tenant_id: uuid.UUID, breakdown: str) -> set[Any]:
    values = {row[0] for row in conn.execute(VALUES_SQL[breakdown], {"t": tenant_id})}
    conn.rollback()
    return values - {None}


def value_of(row: Row) -> Any:
    return row[VALUE_COLUMN[row["breakdown"]]] if row["breakdown"] is not None else None


def deal_values(deal: Row, breakdown: str) -> set[Any]:
    """The values a deal counts for: each distinct non-NULL one, else NULL."""
    values = {deal[column] for column in DEAL_COLUMNS[breakdown]} - {None}
    return values or {None}


def other_breakdown(breakdown: str, filters: dict[str, Any]) -> str:
    """A win/loss breakdown that combines with ``filters`` (whose totals are then stored)."""
    for other in WIN_LOSS_BREAKDOWNS:
        if other != breakdown and not set(FILTER_OF[other](None)) & set(filters):
            return other
    raise AssertionError(f"no breakdown combines with {filters}")


def compatible(breakdown: str, filters: dict[str, Any]) -> bool:
    return not set(FILTER_OF[breakdown](None)) & set(filters)


# --- Row = filtered run ------------------------------------------------------------------------


def win_loss_bases(conn: Conn, tenant: Tenant) -> list[dict[str, Any]]:
    """No filter, and filters the breakdowns must combine with: a pipeline, a source, a user."""
    row = conn.execute(
        "select (select id from dyno_crm.pipeline where tenant_id = %(t)s order by id limit 1),"
        " (select source from dyno_crm.deal where tenant_id = %(t)s and source is not null"
        "  group by source order by count(*) desc, source limit 1),"
        " (select owned_by_user_id from dyno_crm.deal where tenant_id = %(t)s"
        "  and owned_by_user_id is not null group by 1 order by count(*) desc, 1 limit 1)",
        {"t": tenant.tenant_id},
    ).fetchone()
    conn.rollback()
    assert row is not None
    pipeline, source, user = row
    bases: list[dict[str, Any]] = [{}]
    if pipeline is not None:
        bases.append({"pipeline_id": pipeline})
    if source is not None:
        bases.append({"source": source})
    if user is not None:
        bases.append({"principal_type": "USER", "principal_id": user})
    return bases


def check_win_loss_values(
    conn: Conn, tenant: Tenant, breakdown: str, base: dict[str, Any], *, plain: bool
) -> int:
    """Every value's rows of a ``breakdown`` run equal the run filtered by the value: its
    per-pipeline rows the filtered run's rows, its row across all pipelines the filtered
    run's total, stored when that run has another breakdown (its seeds' rows are those of
    the filtered run without breakdown: compared too when ``plain``). Returns the rows
    compared."""
    rows = win_loss(conn, tenant, breakdown=breakdown, **base)
    assert {row["breakdown"] for row in rows} <= {None, breakdown}
    value_rows = [row for row in rows if row["breakdown"] == breakdown]
    values = data_values(conn, tenant.tenant_id, breakdown)
    assert {value_of(row) for row in value_rows} - {None} <= values
    compared = 0
    for value in values:
        filters = {**base, **FILTER_OF[breakdown](value)}
        totals = win_loss(conn, tenant, breakdown=other_breakdown(breakdown, filters), **filters)
        filtered = [row for row in totals if row["breakdown"] is None and not row["all_pipelines"]]
        if plain:
            assert win_loss(conn, tenant, **filters) == filtered
        mine = [row for row in value_rows if value_of(row) == value]
        case = (tenant.tenant_id, breakdown, base, value)
        assert [without(row, "breakdown") for row in mine if not row["all_pipelines"]] == [
            without(row, "breakdown") for row in filtered
        ], case
        assert [without(row, "breakdown") for row in mine if row["all_pipelines"]] == [
            without(row, "breakdown")
            for row in totals
            if row["breakdown"] is None and row["all_pipelines"]
        ], case
        compared += len(mine)
    return compared


def test_a_win_loss_value_row_equals_the_run_filtered_by_the_value(
    dataset: tuple[Conn, list[Tenant]],
) -> None:
    conn, tenants = dataset
    compared: dict[str, int] = defaultdict(int)
    for number, tenant in enumerate(tenants):
        # with filters besides the breakdown on the first tenant only (keeps the runs few)
        for base in win_loss_bases(conn, tenant)[: 1 if number else None]:
            for breakdown in WIN_LOSS_BREAKDOWNS:
                if compatible(breakdown, base):
                    compared[breakdown] += check_win_loss_values(
                        conn, tenant, breakdown, base, plain=not base
                    )
    # every breakdown had rows to compare, per pipeline and across pipelines
    assert all(compared[breakdown] >= 10 for breakdown in WIN_LOSS_BREAKDOWNS), compared


def aging_bases(conn: Conn, tenant: Tenant) -> list[dict[str, Any]]:
    """No filter, and filters the breakdowns must combine with: a pipeline, a stage, a period."""
    row = conn.execute(
        "select (select id from dyno_crm.pipeline where tenant_id = %(t)s order by id limit 1),"
        " (select id from dyno_crm.pipeline_stage where tenant_id = %(t)s"
        "  and stage_state = 'NOT_STARTED' order by id limit 1)",
        {"t": tenant.tenant_id},
    ).fetchone()
    conn.rollback()
    assert row is not None
    pipeline, stage = row
    return [
        {},
        {"pipeline_id": pipeline},
        {"stage_id": stage},
        {"period_start": tenant.as_of - timedelta(days=45), "cycle_threshold_days": None},
    ]


def aging_deals(conn: Conn, run_id: uuid.UUID) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        deals = cur.execute(
            "select * from dyno_crm.report_aging_deal where run_id = %s", (run_id,)
        ).fetchall()
    conn.rollback()
    return deals


def expected_aging_total(deals: list[Row], run_header: Row) -> dict[str, Any]:
    """An aging row across stages, from the deals it counts (days within 0.01 below)."""
    at_risk = [deal for deal in deals if deal["at_risk"]]
    days = [deal["days_in_stage"] for deal in deals]
    params = run_header["input_params"]
    return {
        "threshold_days": params["threshold_days"],
        "cycle_threshold_days": params["cycle_threshold_days"],
        "at_risk_deal_count": len(at_risk),
        "at_risk_amount": sum((deal["amount"] for deal in at_risk), Decimal(0)),
        "total_deal_count": len(deals),
        "total_amount": sum((deal["amount"] for deal in deals), Decimal(0)),
        "percent_at_risk": q(Decimal(len(at_risk)) / len(deals), "0.0001"),
        "avg_days_in_stage": sum(days, Decimal(0)) / len(days),
        "median_days_in_stage": statistics.median(days),
    }


def assert_aging_total(row: Row, expected: dict[str, Any], case: object) -> None:
    for column, value in expected.items():
        if column.endswith("_days_in_stage"):
            assert abs(row[column] - value) <= Decimal("0.01"), (case, column, row, value)
        else:
            assert row[column] == value, (case, column, row, value)


def check_aging_values(conn: Conn, tenant: Tenant, breakdown: str, base: dict[str, Any]) -> int:
    """Every value's (pipeline, stage) rows of a ``breakdown`` run equal the run filtered by
    the value; its rows across stages (per pipeline, and across everything) equal what the
    filtered run's deals add up to. Returns the rows compared."""
    rows = aging(conn, tenant, breakdown=breakdown, **base)
    assert {row["breakdown"] for row in rows} <= {None, breakdown}
    value_rows = [row for row in rows if row["breakdown"] == breakdown]
    values = data_values(conn, tenant.tenant_id, breakdown)
    assert {value_of(row) for row in value_rows} - {None} <= values
    compared = 0
    for value in values:
        run_id = aging_run(conn, tenant, **base, **FILTER_OF[breakdown](value))
        filtered = rows_of(conn, "dyno_crm.report_deal_aging_fact", run_id)
        mine = [row for row in value_rows if value_of(row) == value]
        case = (tenant.tenant_id, breakdown, base, value)
        assert [without(row, "breakdown") for row in mine if not row["all_stages"]] == [
            without(row, "breakdown") for row in filtered
        ], case
        deals = aging_deals(conn, run_id)
        run_header = header(conn, run_id)
        across = [row for row in mine if row["all_stages"]]
        pipelines = {deal["pipeline_id"] for deal in deals}
        assert sorted(
            ((row["pipeline_id"], row["all_pipelines"]) for row in across), key=str
        ) == sorted(
            [(pipeline, False) for pipeline in pipelines] + ([(None, True)] if deals else []),
            key=str,
        ), case
        for row in across:
            counted = [
                deal
                for deal in deals
                if row["all_pipelines"] or deal["pipeline_id"] == row["pipeline_id"]
            ]
            assert row["stage_id"] is None, case
            assert_aging_total(row, expected_aging_total(counted, run_header), case)
        compared += len(mine)
    return compared


def test_an_aging_value_row_equals_the_run_filtered_by_the_value(
    dataset: tuple[Conn, list[Tenant]],
) -> None:
    conn, tenants = dataset
    compared: dict[str, int] = defaultdict(int)
    for number, tenant in enumerate(tenants):
        for base in aging_bases(conn, tenant)[: 1 if number else None]:
            for breakdown in AGING_BREAKDOWNS:
                compared[breakdown] += check_aging_values(conn, tenant, breakdown, base)
    assert all(compared[breakdown] >= 10 for breakdown in AGING_BREAKDOWNS), compared


# --- Totals = sums -----------------------------------------------------------------------------


def sums(rows: list[Row], columns: tuple[str, ...]) -> dict[str, Any]:
    return {column: sum(row[column] for row in rows) for column in columns}


def assert_win_loss_rates(row: Row) -> None:
    """The rates of a row recomputed from its own counts and amounts."""
    won, lost = row["deals_closed_won_count"], row["deals_closed_lost_count"]
    won_amount, lost_amount = row["total_amount_won"], row["total_amount_lost"]
    assert row["closed_count"] == won + lost > 0, row
    assert row["win_rate"] == q(Decimal(won) / (won + lost), "0.0001"), row
    assert row["avg_deal_size_won"] == (q(won_amount / won, "0.01") if won else None), row
    assert row["avg_deal_size_lost"] == (q(lost_amount / lost, "0.01") if lost else None), row
    amount = won_amount + lost_amount
    assert row["win_rate_by_amount"] == (q(won_amount / amount, "0.0001") if amount else None)


def win_loss_deals(conn: Conn, tenant: Tenant, breakdown: str) -> tuple[list[Row], list[Row]]:
    """A ``breakdown`` run's fact rows and its deals."""
    run_id = run_deal_win_loss_report(
        conn, tenant.tenant_id, tenant.period_start, tenant.period_end, breakdown=breakdown
    )
    rows = rows_of(conn, "dyno_crm.report_deal_win_loss_fact", run_id)
    return rows, rows_of(conn, "dyno_crm.report_win_loss_deal", run_id)


def test_win_loss_totals_are_the_sums_of_their_rows(dataset: tuple[Conn, list[Tenant]]) -> None:
    conn, tenants = dataset
    shared = 0
    for tenant in tenants:
        for breakdown in WIN_LOSS_BREAKDOWNS:
            rows, deals = win_loss_deals(conn, tenant, breakdown)
            case = (tenant.tenant_id, breakdown)
            for row in rows:
                assert_win_loss_rates(row)
            # per (breakdown, value): the row across all pipelines sums the pipelines' rows
            groups: dict[tuple[Any, Any], list[Row]] = defaultdict(list)
            for row in rows:
                groups[row["breakdown"], value_of(row)].append(row)
            for key, group in groups.items():
                total = [row for row in group if row["all_pipelines"]]
                pipelines = [row for row in group if not row["all_pipelines"]]
                assert len(total) == 1, (case, key)
                assert total[0]["pipeline_id"] is None, (case, key)
                assert sums(total, WIN_LOSS_COUNTS) == sums(pipelines, WIN_LOSS_COUNTS), key
            # per pipeline and across all: the values' rows add up to the seeds' row, each
            # deal once per value it has (a deal owned by A and assigned to B in both rows)
            seeds = {
                (row["pipeline_id"], row["all_pipelines"]): row
                for row in rows
                if row["breakdown"] is None
            }
            for row in rows:
                if row["breakdown"] is not None:
                    seeds_row = seeds[row["pipeline_id"], row["all_pipelines"]]
                    assert row["closed_count"] <= seeds_row["closed_count"], (case, row)
            for (pipeline_key, all_pipelines), seeds_row in seeds.items():
                values = [
                    row
                    for row in rows
                    if row["breakdown"] == breakdown
                    and row["all_pipelines"] == all_pipelines
                    and (all_pipelines or row["pipeline_id"] == pipeline_key)
                ]
                counted = [d for d in deals if all_pipelines or d["pipeline_id"] == pipeline_key]
                extra = [d for d in counted if len(deal_values(d, breakdown)) == 2]
                won_extra = [d for d in extra if d["outcome"] == "WON"]
                lost_extra = [d for d in extra if d["outcome"] == "LOST"]
                expected = sums([seeds_row], WIN_LOSS_COUNTS)
                expected["deals_closed_won_count"] += len(won_extra)
                expected["deals_closed_lost_count"] += len(lost_extra)
                expected["total_amount_won"] += sum(d["amount"] for d in won_extra)
                expected["total_amount_lost"] += sum(d["amount"] for d in lost_extra)
                expected["closed_count"] += len(extra)
                assert sums(values, WIN_LOSS_COUNTS) == expected, (case, pipeline_key)
                if breakdown in ("source", "first_stage"):
                    assert not extra
                shared += len(extra) if all_pipelines else 0
    # the data has deals owned by one user (or group) and assigned to another
    assert shared > 0


def test_aging_totals_are_the_sums_of_their_rows(dataset: tuple[Conn, list[Tenant]]) -> None:
    conn, tenants = dataset
    shared = 0
    for tenant in tenants:
        for breakdown in AGING_BREAKDOWNS:
            run_id = aging_run(conn, tenant, breakdown=breakdown)
            rows = rows_of(conn, "dyno_crm.report_deal_aging_fact", run_id)
            deals = aging_deals(conn, run_id)
            case = (tenant.tenant_id, breakdown)
            groups: dict[tuple[Any, Any], list[Row]] = defaultdict(list)
            for row in rows:
                groups[row["breakdown"], value_of(row)].append(row)
            for key, group in groups.items():
                stages = [row for row in group if not row["all_stages"]]
                per_pipeline = [
                    row for row in group if row["all_stages"] and not row["all_pipelines"]
                ]
                everything = [row for row in group if row["all_pipelines"]]
                assert [row["all_stages"] for row in everything] == [True], (case, key)
                assert {row["pipeline_id"] for row in per_pipeline} == {
                    row["pipeline_id"] for row in stages
                }, (case, key)
                assert len(per_pipeline) == len({row["pipeline_id"] for row in per_pipeline})
                for total in per_pipeline + everything:
                    counted = [
                        row
                        for row in stages
                        if total["all_pipelines"] or row["pipeline_id"] == total["pipeline_id"]
                    ]
                    assert total["stage_id"] is None
                    assert sums([total], AGING_COUNTS) == sums(counted, AGING_COUNTS), (case, key)
                    assert total["percent_at_risk"] == q(
                        Decimal(total["at_risk_deal_count"]) / total["total_deal_count"], "0.0001"
                    )
                    weighted = sum(
                        row["avg_days_in_stage"] * row["total_deal_count"] for row in counted
                    ) / sum(row["total_deal_count"] for row in counted)
                    assert abs(total["avg_days_in_stage"] - weighted) <= Decimal("0.01")
                    assert total["threshold_days"] == tenant.threshold_days
                    assert total["cycle_threshold_days"] == tenant.cycle_threshold_days
            # the values' rows add up to the rows without breakdown, a deal with two values
            # (owned by A, assigned to B) counted in both
            plain = {
                (row["pipeline_id"], row["stage_id"], row["all_pipelines"]): row
                for row in rows
                if row["breakdown"] is None
            }
            for (pipeline, stage, all_pipelines), plain_row in plain.items():
                values = [
                    row
                    for row in rows
                    if row["breakdown"] == breakdown
                    and (row["pipeline_id"], row["stage_id"], row["all_pipelines"])
                    == (pipeline, stage, all_pipelines)
                ]
                counted = [
                    deal
                    for deal in deals
                    if all_pipelines
                    or (
                        deal["pipeline_id"] == pipeline
                        and (plain_row["all_stages"] or deal["stage_id"] == stage)
                    )
                ]
                extra = [d for d in counted if len(deal_values(d, breakdown)) == 2]
                at_risk_extra = [d for d in extra if d["at_risk"]]
                expected = sums([plain_row], AGING_COUNTS)
                expected["total_deal_count"] += len(extra)
                expected["total_amount"] += sum(d["amount"] for d in extra)
                expected["at_risk_deal_count"] += len(at_risk_extra)
                expected["at_risk_amount"] += sum(d["amount"] for d in at_risk_extra)
                assert sums(values, AGING_COUNTS) == expected, (case, pipeline, stage)
                shared += len(extra) if all_pipelines else 0
    assert shared > 0


def test_a_deal_owned_by_one_user_and_assigned_to_another_counts_for_both(conn: Conn) -> None:
    """The win/loss tenant's deal w2 is owned by user 2 and assigned to user 1: it is in
    both users' rows, which equal the runs filtered by each user."""
    tenant = SCENARIO_TENANTS[1]
    run_id = run_deal_win_loss_report(
        conn, tenant.tenant_id, tenant.period_start, tenant.period_end, breakdown="user"
    )
    rows = rows_of(conn, "dyno_crm.report_deal_win_loss_fact", run_id)
    deal = next(
        deal
        for deal in rows_of(conn, "dyno_crm.report_win_loss_deal", run_id)
        if deal["deal_id"] == uid("wl", "w2")
    )
    assert (deal["owned_by_user_id"], deal["assigned_user_id"]) == (WL_USER_2, WL_USER_1)
    for user in (WL_USER_1, WL_USER_2):
        filtered_run = run_deal_win_loss_report(
            conn,
            tenant.tenant_id,
            tenant.period_start,
            tenant.period_end,
            principal_type="USER",
            principal_id=user,
        )
        filtered = rows_of(conn, "dyno_crm.report_deal_win_loss_fact", filtered_run)
        assert deal["deal_id"] in {
            row["deal_id"] for row in rows_of(conn, "dyno_crm.report_win_loss_deal", filtered_run)
        }
        mine = [
            without(row, "breakdown")
            for row in rows
            if row["breakdown"] == "user"
            and row["principal_id"] == user
            and not row["all_pipelines"]
        ]
        assert mine == [without(row, "breakdown") for row in filtered]
        assert deal["pipeline_id"] in {row["pipeline_id"] for row in filtered}


# --- The seeds' rows stay ----------------------------------------------------------------------


def test_a_breakdown_keeps_the_win_loss_seeds_rows(dataset: tuple[Conn, list[Tenant]]) -> None:
    conn, tenants = dataset
    for tenant in tenants:
        run_id = run_deal_win_loss_report(
            conn, tenant.tenant_id, tenant.period_start, tenant.period_end
        )
        plain = rows_of(conn, "dyno_crm.report_deal_win_loss_fact", run_id)
        # the seeds' call: the seeds' rows only, and the seeds' input_params
        assert all(row["breakdown"] is None and not row["all_pipelines"] for row in plain)
        assert not NEW_OPTIONS & set(header(conn, run_id)["input_params"])
        assert header(conn, run_id)["fact_count"] == len(plain)
        assert win_loss(conn, tenant, store_deals=False) == plain
        for breakdown in WIN_LOSS_BREAKDOWNS:
            rows = win_loss(conn, tenant, breakdown=breakdown)
            seeds = [row for row in rows if row["breakdown"] is None and not row["all_pipelines"]]
            assert seeds == plain, (tenant.tenant_id, breakdown)
            assert win_loss(conn, tenant, breakdown=breakdown, store_deals=False) == rows


def test_a_breakdown_keeps_the_aging_seeds_rows(dataset: tuple[Conn, list[Tenant]]) -> None:
    """Without deals and breakdown the rows come from aging_facts.sql, otherwise from
    aging_detail.sql: the seeds' rows are the same either way."""
    conn, tenants = dataset
    for tenant in tenants:
        for base in aging_bases(conn, tenant):
            run_id = aging_run(conn, tenant, **base)
            plain = rows_of(conn, "dyno_crm.report_deal_aging_fact", run_id)
            assert all(
                row["breakdown"] is None and not row["all_pipelines"] and not row["all_stages"]
                for row in plain
            )
            assert not NEW_OPTIONS & set(header(conn, run_id)["input_params"])
            # aging_facts.sql
            assert aging(conn, tenant, store_deals=False, **base) == plain, base
            for breakdown in AGING_BREAKDOWNS:
                rows = aging(conn, tenant, breakdown=breakdown, **base)
                seeds = [row for row in rows if row["breakdown"] is None and not row["all_stages"]]
                assert seeds == plain, (tenant.tenant_id, breakdown, base)
                assert aging(conn, tenant, breakdown=breakdown, store_deals=False, **base) == rows


def test_the_scenarios_hold_what_the_invariants_need(conn: Conn) -> None:
    """The random tenant has deals owned by one user and assigned to another, deals whose
    owner is their assignee, deals without user, source or pipeline, and reopened deals."""
    row = conn.execute(
        "select count(*) filter (where owned_by_user_id <> assigned_user_id),"
        " count(*) filter (where owned_by_user_id = assigned_user_id),"
        " count(*) filter (where owned_by_user_id is null and assigned_user_id is null),"
        " count(*) filter (where source is null), count(*) filter (where pipeline_id is null)"
        " from dyno_crm.deal where tenant_id = %s",
        (RANDOM_TENANT,),
    ).fetchone()
    reopened = conn.execute(
        "select count(distinct deal_id) from dyno_crm.deal_pipeline_stage_state as entry"
        " join dyno_crm.pipeline_stage as stage"
        " on stage.tenant_id = entry.tenant_id and stage.id = entry.pipeline_stage_id"
        " where entry.tenant_id = %s and not entry.is_current and stage.stage_state like 'DONE%%'",
        (RANDOM_TENANT,),
    ).fetchone()
    conn.rollback()
    assert row is not None
    assert reopened is not None
    assert all(count > 0 for count in (*row, reopened[0])), (row, reopened)
    assert None in RANDOM.sources
