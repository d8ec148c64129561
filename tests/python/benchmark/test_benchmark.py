"""The benchmark's correctness at a small scale: its generator, its checks, its command.

Timing belongs to ``make bench`` (docs/performance.md), not to the test suite: nothing here
asserts a duration.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from bench.__main__ import main
from bench.cases import all_cases
from bench.checks import compare
from bench.data import SCALES, Dataset, ensure_dataset, generate
from orchestration.db import connect

from conftest import Env, create_database, drop_database

# The bench command imports dagster, which imports sqlglot's optional Rust parser; that
# package warns about its own deprecation. Not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:sqlglotrs is deprecated:DeprecationWarning")

TABLES = ("pipeline", "pipeline_stage", "deal", "deal_pipeline_stage_state")


@pytest.fixture(scope="module")
def bench_env(server_env: Env) -> Iterator[Env]:
    env = create_database(server_env, "dyno_test_bench")
    yield env
    drop_database(server_env, env)


def digests(env: Env) -> dict[str, str]:
    """An md5 of each CRM table's rows in a fixed order."""
    with connect(env) as conn:
        return {
            table: str(
                conn.execute(
                    f"select md5(string_agg(t::text, ',' order by t::text))"
                    f" from dyno_crm.{table} as t"
                ).fetchone()[0]  # type: ignore[index]
            )
            for table in TABLES
        }


def test_the_generator_is_deterministic_and_the_seed_matters(bench_env: Env) -> None:
    dataset = Dataset("tiny", seed=7)
    with connect(bench_env) as conn:
        generate(conn, dataset)
    first = digests(bench_env)
    with connect(bench_env) as conn:
        generate(conn, Dataset("tiny", seed=8))
    other_seed = digests(bench_env)
    with connect(bench_env) as conn:
        generate(conn, dataset)
        reused = ensure_dataset(conn, dataset)
    assert digests(bench_env) == first
    assert reused.reused
    assert reused.deals == sum(SCALES["tiny"])
    assert all(other_seed[table] != first[table] for table in TABLES)


def test_generated_data_has_the_promised_shape(bench_env: Env) -> None:
    dataset = Dataset("tiny", seed=7)
    with connect(bench_env) as conn:
        ensure_dataset(conn, dataset)
        shape = conn.execute(
            """
            with per_deal as (
                select
                    s.tenant_id,
                    s.deal_id,
                    count(*) as entries,
                    count(*) filter (where s.is_current) as current_entries,
                    bool_and(s.exited_at is null = s.is_current) as exits_match,
                    bool_or(ps.stage_state like 'DONE%' and s.is_current) as closed
                from dyno_crm.deal_pipeline_stage_state as s
                inner join dyno_crm.pipeline_stage as ps
                    on s.tenant_id = ps.tenant_id and s.pipeline_stage_id = ps.id
                group by s.tenant_id, s.deal_id
            )
            select
                min(entries), max(entries), min(current_entries), max(current_entries),
                bool_and(exits_match), avg(closed::integer), count(*),
                count(distinct tenant_id)
            from per_deal
            """
        ).fetchone()
        tenants = {row[0] for row in conn.execute("select distinct tenant_id from dyno_crm.deal")}
        unknown_stages = conn.execute(
            "select count(*) from dyno_crm.deal_pipeline_stage_state as s"
            " where not exists (select from dyno_crm.pipeline_stage as ps"
            " where ps.tenant_id = s.tenant_id and ps.id = s.pipeline_stage_id)"
        ).fetchone()
    assert shape is not None
    low, high, min_current, max_current, exits_match, closed_share, deals, tenant_count = shape
    assert (low, high) == (1, 5)
    assert (min_current, max_current) == (1, 1)
    assert exits_match
    assert 0.35 < closed_share < 0.65
    assert deals == sum(SCALES["tiny"])
    assert tenant_count == len(SCALES["tiny"])
    # The ids Python computes are the ids SQL generated.
    assert tenants == {dataset.tenant_id(n) for n in dataset.tenant_numbers}
    assert unknown_stages == (0,)


def test_the_check_tells_different_facts_apart() -> None:
    case = all_cases(Dataset("tiny"))[0]
    row: dict[str, Any] = {"pipeline_id": None, "deals_closed_won_count": 3}
    assert compare(case, [row], [dict(row)]) == "equal"
    assert compare(case, [row], [{**row, "deals_closed_won_count": 4}]) == "DIFFERENT"
    assert compare(case, [row], []) == "DIFFERENT"
    assert compare(case, [row], None) == "not run"


def test_the_bench_command_runs_end_to_end_and_every_check_passes(
    bench_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--scale",
            "tiny",
            "--seed",
            "7",
            "--repeat",
            "1",
            "--database",
            bench_env["PGDATABASE"],
            "--seed-sql-limit-s",
            "60",
            "--explain",
        ],
        environ=bench_env,
    )
    out = capsys.readouterr().out
    assert code == 0, out
    rows = [line for line in out.splitlines() if re.match(r"\| (win_loss|aging) \|", line)]
    assert len(rows) == len(all_cases(Dataset("tiny")))
    checks = [row.split(" | ")[9] for row in rows]
    assert set(checks) <= {"equal", "equal*"}, out
    assert "equal" in checks
    assert "Index" in out  # the plans were printed
    assert re.search(r"dbt run \(models, full rebuild\): [\d.]+ s; dbt test: [\d.]+ s", out)
    one_run = re.search(r"in one Dagster run \(.*\): (\d+) report runs in [\d.]+ s", out)
    assert one_run is not None, out
    # Each tenant's standard reports: win/loss of the day, week and month, and aging.
    assert int(one_run.group(1)) == 4 * len(Dataset("tiny").tenant_numbers)
