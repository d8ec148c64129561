"""The demo's sample data: deterministic, realistic in shape, loaded once, never mixed in."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from orchestration.db import connect
from orchestration.demo.sample_data import (
    SampleDataError,
    generate_sample_data,
    load_sample_data,
)
from orchestration.warehouse.crm_batch import CrmBatch
from orchestration.warehouse.storage import create_source_tables

from conftest import Env, create_database, drop_database

UNTIL = datetime(2026, 6, 1, tzinfo=UTC)


def generated(seed: int = 7, until: datetime = UNTIL) -> CrmBatch:
    batch = CrmBatch()
    generate_sample_data(batch, until=until, seed=seed)
    return batch


def test_the_same_seed_and_end_give_the_same_rows() -> None:
    assert generated().rows == generated().rows
    assert generated(seed=8).rows != generated().rows


def test_three_tenants_each_with_pipelines_stages_owners_and_a_year_of_deals() -> None:
    rows = generated().rows
    pipelines = Counter(row[1] for row in rows["pipeline"])
    assert len(pipelines) == 3
    assert all(count >= 2 for count in pipelines.values())
    states = {row[5] for row in rows["pipeline_stage"]}
    assert states == {"NOT_STARTED", "IN_PROGRESS", "DONE_SUCCESS", "DONE_FAILED"}
    deals = rows["deal"]
    assert all(count >= 200 for count in Counter(row[1] for row in deals).values())
    created = [row[6] for row in deals]
    assert min(created) >= UNTIL.replace(year=UNTIL.year - 1)
    assert max(created) < UNTIL
    assert any(row[2] is None for row in deals), "some deals without a pipeline"
    assert any(row[4] is None for row in deals), "some deals without an amount"
    sources = {row[5] for row in deals}
    assert None in sources
    assert 3 <= len(sources - {None}) <= 6
    assert len({row[7] for row in deals}) >= 3 * 3, "several owners per tenant"
    assert any(row[8] is not None for row in deals), "owning groups"


def test_every_deal_has_one_to_five_stage_entries_one_current_none_after_the_end() -> None:
    rows = generated().rows
    entries = defaultdict(list)
    for row in rows["deal_pipeline_stage_state"]:
        entries[(row[1], row[2])].append(row)
    assert set(entries) == {(row[1], row[0]) for row in rows["deal"]}
    lengths = Counter(len(history) for history in entries.values())
    assert set(lengths) <= {1, 2, 3, 4, 5}
    assert len(lengths) >= 4, f"histories of varied length: {lengths}"
    for history in entries.values():
        assert sum(1 for row in history if row[7]) == 1
        assert all(row[5] <= UNTIL for row in history)
    stage_state = {row[0]: row[5] for row in rows["pipeline_stage"]}
    closing = Counter(
        stage_state[row[4]] for history in entries.values() for row in history if row[7]
    )
    assert closing["DONE_SUCCESS"] > 0
    assert closing["DONE_FAILED"] > 0
    assert closing["IN_PROGRESS"] + closing["NOT_STARTED"] > 0


def test_loading_twice_writes_once(server_env: Env) -> None:
    env = create_database(server_env, "dyno_test_sample")
    try:
        with connect(env) as conn:
            create_source_tables(conn)
            written = load_sample_data(conn, until=UNTIL, seed=11)
            assert written == generated(seed=11).row_count()
            assert load_sample_data(conn, until=UNTIL, seed=11) == 0
            row = conn.execute("select count(*) from dyno_crm.deal_pipeline_stage_state").fetchone()
            assert row is not None
            assert row[0] == len(generated(seed=11).rows["deal_pipeline_stage_state"])
            conn.rollback()
            # Another seed's tenants are other tenants: not mixed in either.
            with pytest.raises(SampleDataError, match="already holds"):
                load_sample_data(conn, until=UNTIL, seed=12)
    finally:
        drop_database(server_env, env)


def test_a_database_with_other_tenants_is_refused_and_left_alone(built_env: Env) -> None:
    with connect(built_env) as conn:
        before = conn.execute("select count(*) from dyno_crm.deal").fetchone()
        conn.rollback()
        with pytest.raises(SampleDataError, match="deals of other tenants"):
            load_sample_data(conn, until=UNTIL)
        assert conn.execute("select count(*) from dyno_crm.deal").fetchone() == before
