"""Thresholds per stage (issue 15, part 4): a stage's row is the run with that stage's single
threshold filtered to the stage; bad ``stage_threshold_days`` are refused, nothing written.

On the demo's sample data and on the hand-built aging scenarios (deals without a pipeline,
a deal sitting in another pipeline's stage, a reopened deal, the random tenant).
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from orchestration.db import connect
from orchestration.demo.sample_data import sample_tenants
from orchestration.demo.walkthrough import demo_until
from orchestration.reports import ReportInputError, run_deal_aging_report

from conftest import Env, create_demo_database, drop_database
from report_rows import header
from scenarios import AG_AS_OF, AG_GROUPS_TENANT, AG_TENANT, RANDOM_TENANT, at

Conn = psycopg.Connection[Any]
Row = dict[str, Any]

AGING_FACTS = "dyno_crm.report_deal_aging_fact"


@dataclass(frozen=True)
class Tenant:
    tenant_id: uuid.UUID
    as_of: datetime
    threshold_days: int = 14
    cycle_threshold_days: int | None = None


SCENARIO_TENANTS = [
    Tenant(RANDOM_TENANT, at("2025-12-01"), 14, 90),
    Tenant(AG_TENANT, AG_AS_OF, 10, 100),
    Tenant(AG_GROUPS_TENANT, AG_AS_OF, 14),
]


@pytest.fixture(scope="module")
def demo_env(server_env: Env) -> Iterator[tuple[Env, datetime]]:
    until = demo_until()
    env = create_demo_database(server_env, "dyno_test_stage_thresholds")
    yield env, until
    drop_database(server_env, env)


@pytest.fixture(params=["demo", "scenarios"])
def dataset(request: pytest.FixtureRequest) -> Iterator[tuple[Conn, list[Tenant]]]:
    if request.param == "demo":
        env, until = request.getfixturevalue("demo_env")
        tenants = [Tenant(tenant.id, until, 14, 60) for tenant in sample_tenants()]
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


def aging_run(conn: Conn, tenant: Tenant, **options: Any) -> uuid.UUID:
    options.setdefault("threshold_days", tenant.threshold_days)
    options.setdefault("cycle_threshold_days", tenant.cycle_threshold_days)
    return run_deal_aging_report(conn, tenant.tenant_id, period_end=tenant.as_of, **options)


def aging(conn: Conn, tenant: Tenant, **options: Any) -> list[Row]:
    return rows_of(conn, AGING_FACTS, aging_run(conn, tenant, **options))


def tenant_stages(conn: Conn, tenant_id: uuid.UUID) -> list[uuid.UUID]:
    stages = [
        row[0]
        for row in conn.execute(
            "select id from dyno_crm.pipeline_stage where tenant_id = %s order by id", (tenant_id,)
        )
    ]
    conn.rollback()
    return stages


def random_thresholds(
    rng: random.Random, stages: list[uuid.UUID], default: int
) -> dict[uuid.UUID, int]:
    """About half the stages (open or not), each with its own days, some at the default."""
    chosen = rng.sample(stages, k=max(1, len(stages) // 2))
    return {stage: rng.choice([default, rng.randint(0, 60)]) for stage in chosen}


def test_a_stage_row_equals_the_single_threshold_run_filtered_to_its_stage(
    dataset: tuple[Conn, list[Tenant]],
) -> None:
    conn, tenants = dataset
    rng = random.Random(20251215)
    compared = changed = 0
    for tenant in tenants:
        stages = tenant_stages(conn, tenant.tenant_id)
        for cycle in (None, tenant.cycle_threshold_days):
            thresholds = random_thresholds(rng, stages, tenant.threshold_days)
            run_id = aging_run(
                conn, tenant, cycle_threshold_days=cycle, stage_threshold_days=thresholds
            )
            rows = rows_of(conn, AGING_FACTS, run_id)
            assert header(conn, run_id)["input_params"]["stage_threshold_days"] == {
                str(stage): days for stage, days in thresholds.items()
            }
            by_stage: dict[uuid.UUID, list[Row]] = defaultdict(list)
            for row in rows:
                by_stage[row["stage_id"]].append(row)
            for stage, stage_rows in by_stage.items():
                days = thresholds.get(stage, tenant.threshold_days)
                single = aging(
                    conn, tenant, threshold_days=days, cycle_threshold_days=cycle, stage_id=stage
                )
                assert stage_rows == single, (tenant.tenant_id, stage, days)
                assert {row["threshold_days"] for row in stage_rows} == {days}
                compared += len(stage_rows)
                changed += days != tenant.threshold_days
            # aging_facts.sql (no deals, no breakdown) gives the same rows
            assert (
                aging(
                    conn,
                    tenant,
                    cycle_threshold_days=cycle,
                    stage_threshold_days=thresholds,
                    store_deals=False,
                )
                == rows
            )
            # the stored deals carry their stage's threshold
            deals = conn.execute(
                "select stage_id, threshold_days from dyno_crm.report_aging_deal where run_id = %s",
                (run_id,),
            ).fetchall()
            conn.rollback()
            assert all(
                days == thresholds.get(stage, tenant.threshold_days) for stage, days in deals
            )
    assert compared >= 10
    assert changed >= 3


def test_a_breakdown_by_user_applies_each_stages_threshold(
    dataset: tuple[Conn, list[Tenant]],
) -> None:
    """With stage thresholds and a user breakdown: the seeds' rows are those of the run
    without breakdown, a user's stage row is the single-threshold run filtered to the stage
    and the user, and the rows across stages (the run's default threshold) sum the stage rows.
    """
    conn, tenants = dataset
    rng = random.Random(20251216)
    tenant = tenants[0]
    thresholds = random_thresholds(rng, tenant_stages(conn, tenant.tenant_id), 14)
    rows = aging(conn, tenant, breakdown="user", stage_threshold_days=thresholds)
    plain = aging(conn, tenant, stage_threshold_days=thresholds)
    assert [row for row in rows if row["breakdown"] is None and not row["all_stages"]] == plain
    single: dict[tuple[uuid.UUID, uuid.UUID], dict[Any, Row]] = {}
    compared = 0
    for row in rows:
        if row["breakdown"] != "user" or row["principal_id"] is None or row["all_stages"]:
            continue
        key = (row["stage_id"], row["principal_id"])
        if key not in single:
            filtered = aging(
                conn,
                tenant,
                threshold_days=thresholds.get(row["stage_id"], tenant.threshold_days),
                stage_id=row["stage_id"],
                principal_type="USER",
                principal_id=row["principal_id"],
            )
            single[key] = {other["pipeline_id"]: other for other in filtered}
        expected = single[key][row["pipeline_id"]]
        assert {**row, "breakdown": None} == expected
        compared += 1
    assert compared >= 5
    columns = ("at_risk_deal_count", "at_risk_amount", "total_deal_count", "total_amount")
    for total in (row for row in rows if row["all_stages"]):
        assert total["threshold_days"] == tenant.threshold_days
        parts = [
            row
            for row in rows
            if not row["all_stages"]
            and (row["breakdown"], row["principal_id"])
            == (total["breakdown"], total["principal_id"])
            and (total["all_pipelines"] or row["pipeline_id"] == total["pipeline_id"])
        ]
        assert {c: total[c] for c in columns} == {c: sum(row[c] for row in parts) for c in columns}


def written(conn: Conn) -> tuple[int, ...]:
    row = conn.execute(
        "select (select count(*) from dyno_crm.report_run),"
        " (select count(*) from dyno_crm.report_deal_aging_fact),"
        " (select count(*) from dyno_crm.report_aging_deal)"
    ).fetchone()
    conn.rollback()
    assert row is not None
    return tuple(row)


def test_bad_stage_thresholds_are_refused_before_anything_is_written(
    dataset: tuple[Conn, list[Tenant]],
) -> None:
    conn, tenants = dataset
    tenant = tenants[0]
    own = tenant_stages(conn, tenant.tenant_id)
    others = conn.execute(
        "select id from dyno_crm.pipeline_stage where id <> all(%s) order by id limit 1", (own,)
    ).fetchone()
    conn.rollback()
    assert others is not None
    other_tenants_stage = others[0]
    stage = own[0]
    unknown = uuid.uuid4()
    refused: list[tuple[dict[Any, Any], str]] = [
        ({unknown: 5}, f"stage {unknown} is not a pipeline stage of tenant {tenant.tenant_id}"),
        ({stage: 5, other_tenants_stage: 7}, str(other_tenants_stage)),
        # one stage in two spellings
        ({str(stage): 5, str(stage).upper(): 6}, f"stage {stage} is given twice"),
        ({stage: 5, str(stage): 5}, f"stage {stage} is given twice"),
        ({f"{{{stage}}}": 1, stage.hex: 2}, f"stage {stage} is given twice"),
        ({stage: -1}, "between 0 and"),
        ({stage: "5"}, "whole number"),
        ({stage: True}, "whole number"),
        ({"not-a-stage": 5}, "not a valid UUID"),
    ]
    before = written(conn)
    for thresholds, reason in refused:
        for store_deals in (True, False):
            with pytest.raises(ReportInputError) as error:
                aging_run(conn, tenant, stage_threshold_days=thresholds, store_deals=store_deals)
            assert error.value.field.startswith("stage_threshold_days"), thresholds
            assert reason in str(error.value), (thresholds, str(error.value))
    assert written(conn) == before
    # and the tenant's own stages are accepted
    run_id = aging_run(conn, tenant, stage_threshold_days={stage: 3, str(own[-1]): 4})
    assert header(conn, run_id)["status"] == "SUCCEEDED"
    assert written(conn)[0] == before[0] + 1


def test_a_stage_threshold_applies_to_deals_without_a_pipeline_and_from_other_pipelines(
    conn: Conn,
) -> None:
    """In the aging-groups tenant P1's Lead holds deals of P1, of P2 and without pipeline:
    each of those rows takes Lead's threshold."""
    tenant = SCENARIO_TENANTS[2]
    lead_rows = [row for row in aging(conn, tenant) if row["stage_id"] is not None]
    lead = next(
        stage
        for stage in {row["stage_id"] for row in lead_rows}
        if len({row["pipeline_id"] for row in lead_rows if row["stage_id"] == stage}) == 3
    )
    rows = aging(conn, tenant, stage_threshold_days={lead: 0})
    assert {row["pipeline_id"] for row in rows if row["stage_id"] == lead} == {
        row["pipeline_id"] for row in lead_rows if row["stage_id"] == lead
    }
    for row in rows:
        days = 0 if row["stage_id"] == lead else tenant.threshold_days
        assert row["threshold_days"] == days
        if row["stage_id"] == lead:
            # more than 0 days in the stage: every deal that entered before the as-of time
            assert row["at_risk_deal_count"] == row["total_deal_count"]
