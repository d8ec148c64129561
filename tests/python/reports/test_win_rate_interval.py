"""Win rate by amount, the sample size and the 95% Wilson interval (issue 15, part 2).

Every win/loss fact row (the seeds' rows, the totals, every breakdown's rows) carries
``closed_count`` = won + lost, ``win_rate_by_amount`` = amount won / amount won and lost
(NULL when both are 0) and ``win_rate_low``/``win_rate_high``, which equal SciPy's Wilson
interval (``binomtest(won, n).proportion_ci(0.95, 'wilson')``) to the columns' 4 places.
On the demo's sample data, the hand-built scenarios, random periods of the random tenant
and the sample-sizes tenant (random counts of won and lost deals per pipeline, with the
edge cases: one deal, all won, all lost, no amounts).
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from scipy.stats import binomtest  # type: ignore[import-untyped]

from orchestration.db import connect
from orchestration.demo.sample_data import sample_tenants
from orchestration.demo.walkthrough import demo_until
from orchestration.reports import run_deal_win_loss_report
from orchestration.reports.parameters import WIN_LOSS_BREAKDOWNS

from conftest import Env, create_demo_database, drop_database
from scenarios import (
    Q1_END,
    Q1_START,
    RANDOM_TENANT,
    SIZES_TENANT,
    TWIN_A,
    TWIN_B,
    WL_TENANT,
    at,
    sample_sizes,
)

Conn = psycopg.Connection[Any]
Row = dict[str, Any]
Period = tuple[uuid.UUID, datetime, datetime]

# The columns hold 4 places: half a unit of the last place, and a float's error.
TOLERANCE = Decimal("0.00005") + Decimal("1e-12")

SCENARIO_PERIODS: list[Period] = [
    (RANDOM_TENANT, at("2024-10-01"), at("2026-01-01")),
    (WL_TENANT, Q1_START, Q1_END),
    (TWIN_A, Q1_START, Q1_END),
    (TWIN_B, Q1_START, Q1_END),
    (SIZES_TENANT, Q1_START, Q1_END),
]


@pytest.fixture(scope="module")
def demo_env(server_env: Env) -> Iterator[tuple[Env, datetime]]:
    until = demo_until()
    env = create_demo_database(server_env, "dyno_test_win_rate")
    yield env, until
    drop_database(server_env, env)


@pytest.fixture(params=["demo", "scenarios"])
def dataset(request: pytest.FixtureRequest) -> Iterator[tuple[Conn, list[Period]]]:
    if request.param == "demo":
        env, until = request.getfixturevalue("demo_env")
        periods = [(tenant.id, until - timedelta(days=365), until) for tenant in sample_tenants()]
    else:
        env = request.getfixturevalue("built_env")
        periods = SCENARIO_PERIODS
    with connect(env) as conn:
        yield conn, periods


def win_loss(conn: Conn, period: Period, **options: Any) -> list[Row]:
    run_id = run_deal_win_loss_report(conn, *period, **options)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "select * from dyno_crm.report_deal_win_loss_fact where run_id = %s", (run_id,)
        ).fetchall()
    conn.rollback()
    return rows


@cache
def wilson(won: int, closed: int) -> tuple[Decimal, Decimal]:
    interval = binomtest(won, closed).proportion_ci(confidence_level=0.95, method="wilson")
    return Decimal(repr(float(interval.low))), Decimal(repr(float(interval.high)))


def q4(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def check_row(row: Row) -> None:
    won, lost = row["deals_closed_won_count"], row["deals_closed_lost_count"]
    closed = won + lost
    assert row["closed_count"] == closed > 0, row
    low, high = wilson(won, closed)
    assert abs(row["win_rate_low"] - low) <= TOLERANCE, (row, low)
    assert abs(row["win_rate_high"] - high) <= TOLERANCE, (row, high)
    assert row["win_rate_low"] <= row["win_rate"] <= row["win_rate_high"], row
    assert (row["win_rate_low"] == 0) == (won == 0), row
    assert (row["win_rate_high"] == 1) == (lost == 0), row
    amount = row["total_amount_won"] + row["total_amount_lost"]
    expected = q4(row["total_amount_won"] / amount) if amount else None
    assert row["win_rate_by_amount"] == expected, row


def test_every_win_loss_row_carries_its_sample_size_and_interval(
    dataset: tuple[Conn, list[Period]],
) -> None:
    conn, periods = dataset
    checked = 0
    for period in periods:
        for breakdown in (None, *WIN_LOSS_BREAKDOWNS):
            for row in win_loss(conn, period, breakdown=breakdown):
                check_row(row)
                checked += 1
    assert checked >= 50


def test_the_interval_on_random_counts_of_won_and_lost_deals(conn: Conn) -> None:
    """The sample-sizes tenant's pipelines hold seeded random counts; the random tenant,
    over random periods, gives rows of every size from one deal up."""
    rows = win_loss(conn, (SIZES_TENANT, Q1_START, Q1_END), breakdown="source")
    by_pipeline = {
        row["pipeline_id"]: row
        for row in rows
        if row["breakdown"] is None and not row["all_pipelines"]
    }
    sizes = sample_sizes()
    assert {
        pipeline: (row["deals_closed_won_count"], row["deals_closed_lost_count"])
        for pipeline, row in by_pipeline.items()
    } == {size.pipeline.id: (size.won, size.lost) for size in sizes}
    # a pipeline whose deals have no amount has no win rate by amount
    assert [
        by_pipeline[size.pipeline.id]["win_rate_by_amount"] for size in sizes if not size.amounts
    ] == [None]
    for row in rows:
        check_row(row)
    rng = random.Random(20251217)
    samples: set[tuple[int, int]] = set()
    for _ in range(25):
        start = at("2024-10-01") + timedelta(seconds=rng.randrange(0, 450 * 86400))
        end = start + timedelta(seconds=rng.randrange(3600, 120 * 86400))
        breakdown = rng.choice([None, *WIN_LOSS_BREAKDOWNS])
        for row in win_loss(conn, (RANDOM_TENANT, start, end), breakdown=breakdown):
            check_row(row)
            samples.add((row["deals_closed_won_count"], row["closed_count"]))
    # small and large samples, all won and all lost among them
    assert len(samples) >= 40
    assert any(won == 0 for won, _ in samples)
    assert any(won == closed for won, closed in samples)
    assert min(closed for _, closed in samples) == 1
    assert max(closed for _, closed in samples) >= 50
