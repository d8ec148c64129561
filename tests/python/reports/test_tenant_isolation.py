"""Tenant isolation with colliding ids in every table: tenant B reuses every id of tenant A
(pipelines, stages, deals, stage entries, users, groups) with different data. A's reports on
a database holding both tenants equal A's reports on a database holding only A."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from orchestration.db import connect
from orchestration.reports import run_deal_aging_report, run_deal_win_loss_report
from orchestration.warehouse.crm_batch import CrmBatch, StageEntry
from orchestration.warehouse.dbt_cli import run_dbt
from orchestration.warehouse.storage import create_source_tables, ensure_report_storage

from conftest import Env, create_database, drop_database
from report_rows import facts
from robustness_figures import FIGURES
from scenarios import at, uid

TENANT_A = uid("isolation", "tenant-a")
TENANT_B = uid("isolation", "tenant-b")
PIPELINES = [uid("isolation", f"pipeline-{n}") for n in range(2)]
STAGES = {
    pipeline: [uid("isolation", f"pipeline-{p}", f"stage-{s}") for s in range(5)]
    for p, pipeline in enumerate(PIPELINES)
}
USERS = [uid("isolation", f"user-{n}") for n in range(3)]
GROUPS = [uid("isolation", f"group-{n}") for n in range(2)]
SOURCES = ["web", "referral", None]
DEALS = 60
STATES = ["NOT_STARTED", "IN_PROGRESS", "IN_PROGRESS", "DONE_SUCCESS", "DONE_FAILED"]
START = at("2025-01-01")
END = at("2025-07-01")


def load_tenant(batch: CrmBatch, tenant: uuid.UUID, seed: int) -> None:
    """The shared ids, with data drawn from ``seed``; B also swaps won and lost stages."""
    rng = random.Random(seed)
    for p, pipeline in enumerate(PIPELINES):
        batch.pipeline(tenant, f"{tenant}-{p}", id=pipeline)
        states = STATES if tenant == TENANT_A else [*STATES[:3], STATES[4], STATES[3]]
        for order, (stage, state) in enumerate(zip(STAGES[pipeline], states, strict=True)):
            batch.stage(tenant, pipeline, f"stage {order}", order + 1, state, id=stage)
    for n in range(DEALS):
        pipeline = rng.choice(PIPELINES)
        created = START + timedelta(hours=rng.randrange(0, 24 * 150))
        deal = batch.deal(
            tenant,
            pipeline_id=pipeline,
            created_at=created,
            amount=Decimal(rng.randrange(1, 100_000)) / 100,
            source=rng.choice(SOURCES),
            owned_by_user_id=rng.choice([*USERS, None]),
            owned_by_group_id=rng.choice([*GROUPS, None]),
            assigned_user_id=rng.choice([*USERS, None]),
            assigned_group_id=rng.choice([*GROUPS, None]),
            id=uid("isolation", "deal", str(n)),
        )
        steps = rng.randint(1, 4)
        when = created
        for step in range(steps):
            stage = rng.choice(STAGES[pipeline])
            last = step == steps - 1
            exited = None if last else when + timedelta(hours=rng.randrange(1, 24 * 20))
            batch.entry(
                tenant,
                deal,
                StageEntry(stage, pipeline, when),
                exited_at=exited,
                is_current=last,
                id=uid("isolation", "entry", str(n), str(step)),
            )
            if exited is not None:
                when = exited


def built_database(server_env: Env, tenants: list[tuple[uuid.UUID, int]]) -> Env:
    env = create_database(server_env, "robustness_isolation")
    with connect(env) as conn:
        create_source_tables(conn)
        ensure_report_storage(conn)
        batch = CrmBatch()
        for tenant, seed in tenants:
            load_tenant(batch, tenant, seed)
        batch.write(conn)
    return env


@pytest.fixture(scope="module")
def both_and_alone(server_env: Env) -> Iterator[tuple[Env, Env]]:
    both = built_database(server_env, [(TENANT_A, 1), (TENANT_B, 2)])
    alone = built_database(server_env, [(TENANT_A, 1)])
    try:
        # The two builds are independent: run them side by side.
        with ThreadPoolExecutor(max_workers=2) as pool:
            for build in [pool.submit(run_dbt, ["run"], environ=env) for env in (both, alone)]:
                build.result()
        yield both, alone
    finally:
        drop_database(server_env, both)
        drop_database(server_env, alone)


WIN_LOSS_FILTERS: list[dict[str, Any]] = [
    {},
    {"pipeline_id": PIPELINES[0]},
    {"principal_type": "USER", "principal_id": USERS[0]},
    {"principal_type": "GROUP", "principal_id": GROUPS[1]},
    {"source": "web"},
    {"stage_id": STAGES[PIPELINES[1]][0]},
]
AGING_FILTERS: list[dict[str, Any]] = [
    {"threshold_days": 5},
    {"threshold_days": 1, "cycle_threshold_days": 30, "pipeline_id": PIPELINES[1]},
    {"threshold_days": 10, "principal_type": "USER", "principal_id": USERS[1]},
    {"threshold_days": 3, "period_start": START, "stage_id": STAGES[PIPELINES[0]][1]},
]


def run_all(env: Env) -> list[list[dict[str, Any]]]:
    results = []
    with connect(env) as conn:
        for filters in WIN_LOSS_FILTERS:
            run_id = run_deal_win_loss_report(conn, TENANT_A, START, END, **filters)
            results.append(facts(conn, run_id))
        for filters in AGING_FILTERS:
            run_id = run_deal_aging_report(conn, TENANT_A, period_end=END, **filters)
            results.append(facts(conn, run_id))
        assert FIGURES.audit(conn).ok
    FIGURES.add(runs_attempted=len(results), runs_succeeded=len(results))
    return results


def test_a_tenant_s_facts_do_not_change_when_another_tenant_reuses_all_its_ids(
    both_and_alone: tuple[Env, Env],
) -> None:
    both, alone = both_and_alone
    shared = run_all(both)
    isolated = run_all(alone)
    for expected, actual in zip(isolated, shared, strict=True):
        FIGURES.compare_facts(expected, actual)
        assert actual == expected
    # The comparison means something: A has facts, and B's data differs from A's.
    assert sum(len(rows) for rows in isolated) > 20
    with connect(both) as conn:
        b_run = run_deal_win_loss_report(conn, TENANT_B, START, END)
        FIGURES.add(runs_attempted=1, runs_succeeded=1)
        b_rows = facts(conn, b_run)
    assert [{**row, "tenant_id": TENANT_A} for row in b_rows] != isolated[0]


@pytest.mark.parametrize("model", ["int_closing_instances", "int_current_deals"])
def test_a_tenant_s_model_rows_are_the_same_with_or_without_the_other_tenant(
    both_and_alone: tuple[Env, Env], model: str
) -> None:
    def rows(env: Env) -> list[tuple[Any, ...]]:
        with connect(env) as conn:
            found = conn.execute(
                f"select * from dyno_crm_analytics.{model} where tenant_id = %s", (TENANT_A,)
            ).fetchall()
            return sorted(found, key=repr)

    both, alone = both_and_alone
    assert rows(both) == rows(alone)
    assert rows(alone)
    with connect(both) as conn:
        entries = conn.execute(
            "select count(distinct id), count(*) from dyno_crm.deal_pipeline_stage_state"
        ).fetchone()
    assert entries is not None
    assert entries[0] < entries[1]  # stage-entry ids do collide across the tenants
