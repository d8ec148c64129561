"""The deals behind a run's numbers, and what data it saw (issue 15, parts 3 and 5).

Deals = facts: every fact row of a run (the seeds' rows, the totals and the breakdowns'
rows) is what the deals the run stored add up to, exactly for counts and amounts, within
0.01 for the days (the deals keep days to 6 places, the facts to 2); the stored deals are
the deals the CRM source data holds for the run (computed here from the source tables).
``store_deals=False`` stores no deal and leaves ``deal_count`` NULL, with the same facts.
Every run records the latest stage entry of its tenant and when the models were built.

On the demo's sample data and on the hand-built scenarios (see test_breakdowns.py).
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    AG_FUTURE_TENANT,
    AG_GROUPS_TENANT,
    AG_NO_PIPELINE_TENANT,
    AG_TENANT,
    Q1_END,
    Q1_START,
    RANDOM_TENANT,
    SIZES_TENANT,
    TWIN_B,
    WL_TENANT,
    at,
)

Conn = psycopg.Connection[Any]
Row = dict[str, Any]

WIN_LOSS_FACTS = "dyno_crm.report_deal_win_loss_fact"
AGING_FACTS = "dyno_crm.report_deal_aging_fact"
WIN_LOSS_DEALS = "dyno_crm.report_win_loss_deal"
AGING_DEALS = "dyno_crm.report_aging_deal"
DAY_US = 86_400_000_000


@dataclass(frozen=True)
class Tenant:
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
    Tenant(TWIN_B, Q1_START, Q1_END, AG_AS_OF, 1, 1),
    Tenant(SIZES_TENANT, Q1_START, Q1_END, Q1_END, 20, 30),
]


@dataclass(frozen=True)
class DemoDatabase:
    env: Env
    until: datetime
    created_after: datetime  # the clock before the database and its models were built


@pytest.fixture(scope="module")
def demo_db(server_env: Env) -> Iterator[DemoDatabase]:
    before = datetime.now(UTC)
    until = demo_until()
    env = create_demo_database(server_env, "dyno_test_run_deals")
    yield DemoDatabase(env, until, before)
    drop_database(server_env, env)


@pytest.fixture(params=["demo", "scenarios"])
def dataset(request: pytest.FixtureRequest) -> Iterator[tuple[Conn, list[Tenant]]]:
    if request.param == "demo":
        demo: DemoDatabase = request.getfixturevalue("demo_db")
        env = demo.env
        tenants = [
            Tenant(tenant.id, demo.until - timedelta(days=365), demo.until, demo.until, 14, 60)
            for tenant in sample_tenants()
        ]
    else:
        env = request.getfixturevalue("built_env")
        tenants = SCENARIO_TENANTS
    with connect(env) as conn:
        yield conn, tenants


def rows_of(conn: Conn, table: str, run_id: uuid.UUID) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(f"select * from {table} where run_id = %s", (run_id,)).fetchall()
    conn.rollback()
    for row in rows:
        del row["run_id"]
    return sorted(rows, key=lambda row: tuple(str(value) for value in row.values()))


def win_loss_run(conn: Conn, tenant: Tenant, **options: Any) -> uuid.UUID:
    return run_deal_win_loss_report(
        conn, tenant.tenant_id, tenant.period_start, tenant.period_end, **options
    )


def aging_run(conn: Conn, tenant: Tenant, **options: Any) -> uuid.UUID:
    options.setdefault("threshold_days", tenant.threshold_days)
    options.setdefault("cycle_threshold_days", tenant.cycle_threshold_days)
    return run_deal_aging_report(conn, tenant.tenant_id, period_end=tenant.as_of, **options)


def q(value: Decimal, places: str) -> Decimal:
    """PostgreSQL's rounding of a non-negative numeric to ``places`` (half away from zero)."""
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


VALUE_COLUMN = {
    "user": "principal_id",
    "group": "principal_id",
    "source": "source",
    "first_stage": "stage_id",
}
DEAL_COLUMNS = {
    "user": ("owned_by_user_id", "assigned_user_id"),
    "group": ("owned_by_group_id", "assigned_group_id"),
    "source": ("source",),
    "first_stage": ("first_stage_id",),
}


def value_of(row: Row) -> Any:
    return row[VALUE_COLUMN[row["breakdown"]]] if row["breakdown"] is not None else None


def deal_values(deal: Row, breakdown: str) -> set[Any]:
    """The values a deal counts for: each distinct non-NULL one, else NULL."""
    values = {deal[column] for column in DEAL_COLUMNS[breakdown]} - {None}
    return values or {None}


def counted_by(row: Row, deals: list[Row], *, stages: bool = False) -> list[Row]:
    """The deals a fact row counts: its pipeline (unless across all), its stage (aging,
    unless across all stages), its breakdown value."""
    return [
        deal
        for deal in deals
        if (row["all_pipelines"] or deal["pipeline_id"] == row["pipeline_id"])
        and (not stages or row["all_stages"] or deal["stage_id"] == row["stage_id"])
        and (row["breakdown"] is None or value_of(row) in deal_values(deal, row["breakdown"]))
    ]


def row_keys(deals: list[Row], breakdown: str | None, *, stages: bool = False) -> set[Any]:
    """The fact rows the deals call for: (breakdown, value, all_pipelines, pipeline[, all_stages,
    stage]); with a breakdown also the totals."""
    keys: set[Any] = set()
    for deal in deals:
        for dimension, values in [(None, {None})] + (
            [(breakdown, deal_values(deal, breakdown))] if breakdown else []
        ):
            for value in values:
                groups = [(False, deal["pipeline_id"])]
                if breakdown:
                    groups.append((True, None))
                for all_pipelines, pipeline in groups:
                    if not stages:
                        keys.add((dimension, value, all_pipelines, pipeline))
                        continue
                    if not all_pipelines:
                        keys.add((dimension, value, False, pipeline, False, deal["stage_id"]))
                    if breakdown:
                        keys.add((dimension, value, all_pipelines, pipeline, True, None))
    return keys


# --- Win/loss -------------------------------------------------------------------------------


def expected_win_loss(deals: list[Row]) -> dict[str, Any]:
    won = [deal["amount"] for deal in deals if deal["outcome"] == "WON"]
    lost = [deal["amount"] for deal in deals if deal["outcome"] == "LOST"]
    won_amount, lost_amount = sum(won, Decimal(0)), sum(lost, Decimal(0))
    amount = won_amount + lost_amount
    return {
        "deals_closed_won_count": len(won),
        "deals_closed_lost_count": len(lost),
        "total_amount_won": won_amount,
        "total_amount_lost": lost_amount,
        "avg_deal_size_won": q(won_amount / len(won), "0.01") if won else None,
        "avg_deal_size_lost": q(lost_amount / len(lost), "0.01") if lost else None,
        "win_rate": q(Decimal(len(won)) / len(deals), "0.0001"),
        "closed_count": len(deals),
        "win_rate_by_amount": q(won_amount / amount, "0.0001") if amount else None,
    }


def check_win_loss_deals(conn: Conn, run_id: uuid.UUID) -> tuple[list[Row], list[Row]]:
    """Every fact row of the run is what its stored deals add up to; the header counts both."""
    run_header = header(conn, run_id)
    rows = rows_of(conn, WIN_LOSS_FACTS, run_id)
    deals = rows_of(conn, WIN_LOSS_DEALS, run_id)
    assert run_header["deal_count"] == len(deals)
    assert run_header["fact_count"] == len(rows)
    assert {deal["tenant_id"] for deal in deals} <= {run_header["tenant_id"]}
    breakdown = run_header["input_params"].get("breakdown")
    keys = {
        (row["breakdown"], value_of(row), row["all_pipelines"], row["pipeline_id"]) for row in rows
    }
    assert len(keys) == len(rows)
    assert keys == row_keys(deals, breakdown), run_id
    for row in rows:
        expected = expected_win_loss(counted_by(row, deals))
        assert {column: row[column] for column in expected} == expected, (run_id, row)
    return rows, deals


# The deals a win/loss run over the whole tenant must store, from the CRM source tables:
# deals whose current stage entry is terminal and was entered in the period.
SOURCE_WIN_LOSS_DEALS = """
with first_entry as (
    select distinct on (entry.deal_id) entry.deal_id, entry.pipeline_stage_id
    from dyno_crm.deal_pipeline_stage_state as entry
    inner join dyno_crm.pipeline_stage as stage
        on entry.tenant_id = stage.tenant_id and entry.pipeline_stage_id = stage.id
    where entry.tenant_id = %(tenant)s
    order by entry.deal_id, entry.entered_at, stage.stage_order, stage.id
)
select
    deal.tenant_id,
    deal.id as deal_id,
    deal.pipeline_id,
    case stage.stage_state when 'DONE_SUCCESS' then 'WON' else 'LOST' end as outcome,
    coalesce(deal.amount, 0)::numeric(20, 2) as amount,
    entry.entered_at as closed_at,
    first_entry.pipeline_stage_id as first_stage_id,
    deal.source,
    deal.owned_by_user_id,
    deal.owned_by_group_id,
    deal.assigned_user_id,
    deal.assigned_group_id
from dyno_crm.deal_pipeline_stage_state as entry
inner join dyno_crm.pipeline_stage as stage
    on entry.tenant_id = stage.tenant_id and entry.pipeline_stage_id = stage.id
inner join dyno_crm.deal as deal
    on entry.tenant_id = deal.tenant_id and entry.deal_id = deal.id
left join first_entry on entry.deal_id = first_entry.deal_id
where
    entry.tenant_id = %(tenant)s
    and entry.is_current
    and stage.stage_state in ('DONE_SUCCESS', 'DONE_FAILED')
    and entry.entered_at >= %(start)s
    and entry.entered_at < %(end)s
"""


def source_deals(conn: Conn, query: str, params: dict[str, Any]) -> list[Row]:
    with conn.cursor(row_factory=dict_row) as cur:
        deals = cur.execute(query, params).fetchall()
    conn.rollback()
    return sorted(deals, key=lambda row: tuple(str(value) for value in row.values()))


def test_win_loss_deals_add_up_to_the_facts(dataset: tuple[Conn, list[Tenant]]) -> None:
    conn, tenants = dataset
    checked = 0
    for tenant in tenants:
        expected_deals = source_deals(
            conn,
            SOURCE_WIN_LOSS_DEALS,
            {"tenant": tenant.tenant_id, "start": tenant.period_start, "end": tenant.period_end},
        )
        for breakdown in (None, *WIN_LOSS_BREAKDOWNS):
            rows, deals = check_win_loss_deals(
                conn, win_loss_run(conn, tenant, breakdown=breakdown)
            )
            # the run stores the deals of the source data, each as counted
            assert deals == expected_deals, (tenant.tenant_id, breakdown)
            checked += len(rows)
        # a filtered run stores the deals its filters keep
        if expected_deals:
            deal = expected_deals[0]
            filters: dict[str, Any] = {"pipeline_id": deal["pipeline_id"], "source": deal["source"]}
            if deal["owned_by_user_id"] is not None:
                filters |= {"principal_type": "USER", "principal_id": deal["owned_by_user_id"]}
            _, deals = check_win_loss_deals(
                conn, win_loss_run(conn, tenant, breakdown="first_stage", **filters)
            )
            assert deal in deals
            assert deals == [
                kept
                for kept in expected_deals
                if kept["pipeline_id"] == deal["pipeline_id"]
                and (deal["source"] is None or kept["source"] == deal["source"])
                and (
                    deal["owned_by_user_id"] is None
                    or deal["owned_by_user_id"]
                    in (kept["owned_by_user_id"], kept["assigned_user_id"])
                )
            ]
    assert checked > 50


# --- Aging ----------------------------------------------------------------------------------


def expected_aging(deals: list[Row]) -> dict[str, Any]:
    at_risk = [deal for deal in deals if deal["at_risk"]]
    days = [deal["days_in_stage"] for deal in deals]
    return {
        "at_risk_deal_count": len(at_risk),
        "at_risk_amount": sum((deal["amount"] for deal in at_risk), Decimal(0)),
        "total_deal_count": len(deals),
        "total_amount": sum((deal["amount"] for deal in deals), Decimal(0)),
        "percent_at_risk": q(Decimal(len(at_risk)) / len(deals), "0.0001"),
        "avg_days_in_stage": sum(days, Decimal(0)) / len(days),
        "median_days_in_stage": statistics.median(days),
    }


def check_aging_deals(conn: Conn, run_id: uuid.UUID) -> tuple[list[Row], list[Row]]:
    run_header = header(conn, run_id)
    params = run_header["input_params"]
    rows = rows_of(conn, AGING_FACTS, run_id)
    deals = rows_of(conn, AGING_DEALS, run_id)
    assert run_header["deal_count"] == len(deals)
    assert run_header["fact_count"] == len(rows)
    keys = {
        (
            row["breakdown"],
            value_of(row),
            row["all_pipelines"],
            row["pipeline_id"],
            row["all_stages"],
            row["stage_id"],
        )
        for row in rows
    }
    assert len(keys) == len(rows)
    assert keys == row_keys(deals, params.get("breakdown"), stages=True), run_id
    for row in rows:
        counted = counted_by(row, deals, stages=True)
        expected = expected_aging(counted)
        for column, value in expected.items():
            if column.endswith("_days_in_stage"):
                assert abs(row[column] - value) <= Decimal("0.01"), (run_id, row, column)
            else:
                assert row[column] == value, (run_id, row, column)
        assert row["cycle_threshold_days"] == params["cycle_threshold_days"]
        if row["all_stages"]:
            assert row["threshold_days"] == params["threshold_days"]
        else:
            assert {deal["threshold_days"] for deal in counted} == {row["threshold_days"]}
    return rows, deals


# The open deals an aging run over the whole tenant must store, from the CRM source tables.
SOURCE_AGING_DEALS = """
select
    deal.tenant_id,
    deal.id as deal_id,
    deal.pipeline_id,
    entry.pipeline_stage_id as stage_id,
    entry.entered_at as stage_entered_at,
    deal.created_at,
    coalesce(deal.amount, 0)::numeric(20, 2) as amount,
    deal.owned_by_user_id,
    deal.owned_by_group_id,
    deal.assigned_user_id,
    deal.assigned_group_id
from dyno_crm.deal_pipeline_stage_state as entry
inner join dyno_crm.pipeline_stage as stage
    on entry.tenant_id = stage.tenant_id and entry.pipeline_stage_id = stage.id
inner join dyno_crm.deal as deal
    on entry.tenant_id = deal.tenant_id and entry.deal_id = deal.id
where
    entry.tenant_id = %(tenant)s
    and entry.is_current
    and stage.stage_state not in ('DONE_SUCCESS', 'DONE_FAILED')
    and (not %(bounded)s or entry.entered_at < %(as_of)s)
"""


def days_between(later: datetime, earlier: datetime) -> Decimal:
    """Days (of 86400 s) from ``earlier`` to ``later``, never below 0, to 6 places."""
    microseconds = (later - earlier) // timedelta(microseconds=1)
    return q(Decimal(max(0, microseconds)) / DAY_US, "0.000001")


def expected_aging_deals(conn: Conn, tenant: Tenant, as_of: datetime | None = None) -> list[Row]:
    """The deals the run should store, aged in Python from the source rows: as of the
    tenant's period end, or of ``as_of`` for a run without one (every open deal)."""
    bounded = as_of is None
    as_of = as_of or tenant.as_of
    deals = source_deals(
        conn,
        SOURCE_AGING_DEALS,
        {"tenant": tenant.tenant_id, "as_of": as_of, "bounded": bounded},
    )
    aged = []
    for deal in deals:
        created_at = deal.pop("created_at")
        stage_risk = deal["stage_entered_at"] < as_of - timedelta(days=tenant.threshold_days)
        cycle = tenant.cycle_threshold_days
        cycle_risk = cycle is not None and created_at < as_of - timedelta(days=cycle)
        by = {(True, True): "stage_and_cycle", (True, False): "stage", (False, True): "cycle"}
        aged.append(
            {
                **deal,
                "days_in_stage": days_between(as_of, deal["stage_entered_at"]),
                "days_in_cycle": days_between(as_of, created_at),
                "threshold_days": tenant.threshold_days,
                "at_risk": stage_risk or cycle_risk,
                "at_risk_by": by.get((stage_risk, cycle_risk)),
            }
        )
    return aged


def comparable(deals: list[Row]) -> list[Row]:
    return sorted(deals, key=lambda deal: str(deal["deal_id"]))


def test_aging_deals_add_up_to_the_facts(dataset: tuple[Conn, list[Tenant]]) -> None:
    conn, tenants = dataset
    checked = 0
    at_risk_by: set[str | None] = set()
    for tenant in tenants:
        for breakdown in (None, *AGING_BREAKDOWNS):
            rows, deals = check_aging_deals(conn, aging_run(conn, tenant, breakdown=breakdown))
            expected = expected_aging_deals(conn, tenant)
            assert comparable(deals) == comparable(expected), (tenant.tenant_id, breakdown)
            checked += len(rows)
            at_risk_by |= {deal["at_risk_by"] for deal in deals}
        # filters and a period: the deals they keep
        if not expected:
            continue
        since = tenant.as_of - timedelta(days=30)
        pipeline = expected[0]["pipeline_id"]
        _, deals = check_aging_deals(
            conn,
            aging_run(conn, tenant, breakdown="group", period_start=since, pipeline_id=pipeline),
        )
        assert comparable(deals) == comparable(
            [
                deal
                for deal in expected
                if deal["stage_entered_at"] >= since
                and (pipeline is None or deal["pipeline_id"] == pipeline)
            ]
        )
        user = next(
            (deal["assigned_user_id"] for deal in expected if deal["assigned_user_id"]), None
        )
        if user is not None:
            _, deals = check_aging_deals(
                conn, aging_run(conn, tenant, principal_type="USER", principal_id=user)
            )
            assert comparable(deals) == comparable(
                [d for d in expected if user in (d["owned_by_user_id"], d["assigned_user_id"])]
            )
    assert checked > 30
    # the cycle threshold and the stage threshold each made deals at risk, and both at once
    assert at_risk_by == {None, "stage", "cycle", "stage_and_cycle"}


def test_aging_deals_as_of_the_runs_start_clamp_to_zero_days(conn: Conn) -> None:
    """Without period_end a run ages every open deal as of its own start; a stage entered
    after it (the aging-future tenant's deal) counts 0 days."""
    tenant = Tenant(AG_FUTURE_TENANT, Q1_START, Q1_END, AG_AS_OF, 0, 0)
    run_id = run_deal_aging_report(conn, tenant.tenant_id, 0, 0)
    as_of = datetime.fromisoformat(header(conn, run_id)["input_params"]["as_of"])
    assert as_of == header(conn, run_id)["generated_at"]
    _, deals = check_aging_deals(conn, run_id)
    assert comparable(deals) == comparable(expected_aging_deals(conn, tenant, as_of))
    assert [(deal["days_in_stage"], deal["days_in_cycle"], deal["at_risk"]) for deal in deals] == [
        (0, 0, False)
    ]


# --- store_deals ----------------------------------------------------------------------------


def deal_rows(conn: Conn, run_id: uuid.UUID) -> int:
    row = conn.execute(
        "select (select count(*) from dyno_crm.report_win_loss_deal where run_id = %(r)s)"
        " + (select count(*) from dyno_crm.report_aging_deal where run_id = %(r)s)",
        {"r": run_id},
    ).fetchone()
    conn.rollback()
    assert row is not None
    return int(row[0])


def test_without_deals_a_run_stores_the_same_facts_and_no_deal(
    dataset: tuple[Conn, list[Tenant]],
) -> None:
    conn, tenants = dataset
    for tenant in tenants:
        for breakdown in (None, *WIN_LOSS_BREAKDOWNS):
            with_deals = win_loss_run(conn, tenant, breakdown=breakdown)
            facts_only = win_loss_run(conn, tenant, breakdown=breakdown, store_deals=False)
            assert rows_of(conn, WIN_LOSS_FACTS, facts_only) == rows_of(
                conn, WIN_LOSS_FACTS, with_deals
            )
            assert deal_rows(conn, facts_only) == 0
            assert header(conn, facts_only)["deal_count"] is None
            assert header(conn, facts_only)["input_params"]["store_deals"] is False
            assert header(conn, with_deals)["deal_count"] == deal_rows(conn, with_deals)
        for breakdown in (None, *AGING_BREAKDOWNS):
            with_deals = aging_run(conn, tenant, breakdown=breakdown)
            facts_only = aging_run(conn, tenant, breakdown=breakdown, store_deals=False)
            assert rows_of(conn, AGING_FACTS, facts_only) == rows_of(conn, AGING_FACTS, with_deals)
            assert deal_rows(conn, facts_only) == 0
            assert header(conn, facts_only)["deal_count"] is None
            assert header(conn, with_deals)["deal_count"] == deal_rows(conn, with_deals)


def test_a_run_without_deals_in_its_period_stores_none_and_counts_zero(conn: Conn) -> None:
    """deal_count 0 (kept, none found) differs from NULL (not kept)."""
    empty = Tenant(RANDOM_TENANT, at("2030-01-01"), at("2030-02-01"), at("2024-01-01"))
    for run_id in (win_loss_run(conn, empty), aging_run(conn, empty, breakdown="user")):
        run_header = header(conn, run_id)
        assert (run_header["deal_count"], run_header["fact_count"]) == (0, 0)
        assert deal_rows(conn, run_id) == 0


# --- Freshness ------------------------------------------------------------------------------


def latest_stage_entry(conn: Conn, tenant_id: uuid.UUID) -> datetime | None:
    row = conn.execute(
        "select max(entered_at) from dyno_crm.deal_pipeline_stage_state where tenant_id = %s",
        (tenant_id,),
    ).fetchone()
    conn.rollback()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def check_freshness(conn: Conn, tenants: list[Tenant]) -> set[datetime]:
    """Each run's latest stage entry is its tenant's; returns the runs' models_built_at."""
    built: set[datetime] = set()
    unknown = Tenant(uuid.uuid4(), Q1_START, Q1_END, AG_AS_OF)
    for tenant in [*tenants, unknown]:
        latest = latest_stage_entry(conn, tenant.tenant_id)
        assert (latest is None) == (tenant is unknown)
        for run_id in (
            win_loss_run(conn, tenant, breakdown="source", store_deals=False),
            aging_run(conn, tenant),
            aging_run(conn, tenant, store_deals=False),  # aging_facts.sql
        ):
            run_header = header(conn, run_id)
            assert run_header["data_latest_stage_entry"] == latest, tenant
            assert run_header["models_built_at"] is not None
            assert run_header["models_built_at"] <= run_header["generated_at"]
            built.add(run_header["models_built_at"])
    return built


def test_a_run_records_the_freshness_of_what_it_read(
    demo_db: DemoDatabase, built_env: Env, server_env: Env
) -> None:
    with connect(demo_db.env) as conn:
        tenants = [
            Tenant(tenant.id, demo_db.until - timedelta(days=30), demo_db.until, demo_db.until)
            for tenant in sample_tenants()
        ]
        demo_built = check_freshness(conn, tenants)
    # one build: one time, after the database was created
    assert len(demo_built) == 1
    assert min(demo_built) >= demo_db.created_after
    with connect(built_env) as conn:
        scenario_tenants = [*SCENARIO_TENANTS, Tenant(AG_FUTURE_TENANT, Q1_START, Q1_END, AG_AS_OF)]
        assert len(check_freshness(conn, scenario_tenants)) == 1
