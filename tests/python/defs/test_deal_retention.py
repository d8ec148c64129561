"""Deal retention through Dagster: ``deal_retention_job`` and ``deal_retention_schedule``.

In a database of its own (the job prunes every run of the database that is old enough, so
no other test's runs may be among them): runs are made old by moving their ``generated_at``
back, then the real job runs in process against it through ``PostgresResource``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
import psycopg
import pytest

from orchestration.db import connect
from orchestration.definitions import defs
from orchestration.defs.jobs import DEAL_RETENTION_JOB
from orchestration.defs.retention import PRUNE_OP
from orchestration.refresh.config import load_refresh_settings
from orchestration.reports import run_deal_aging_report, run_deal_win_loss_report
from orchestration.reports.audit import audit_report_runs
from orchestration.reports.errors import ReportRunError
from orchestration.reports.run_deals import iter_run_deals
from orchestration.reports.stored_runs import run_header
from orchestration.warehouse.crm_batch import CrmBatch
from orchestration.warehouse.dbt_cli import run_dbt
from orchestration.warehouse.storage import create_source_tables, ensure_report_storage

import scenarios
from conftest import Env, create_database, drop_database
from report_rows import facts, header

pytestmark = pytest.mark.dagster

SETTINGS = load_refresh_settings()


@pytest.fixture(scope="module")
def retention_env(server_env: Env) -> Iterator[Env]:
    """The win/loss and aging scenarios, built, in a database of their own; PG* point at it."""
    env = create_database(server_env, "dyno_test_retention")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        with connect(env) as conn:
            create_source_tables(conn)
            ensure_report_storage(conn)
            batch = CrmBatch()
            scenarios.load_win_loss(batch)
            scenarios.load_aging(batch)
            batch.write(conn)
        run_dbt(["build"], environ=env)
        yield env
    drop_database(server_env, env)


def deal_rows(conn: psycopg.Connection[Any], run_id: uuid.UUID) -> int:
    row = conn.execute(
        "select (select count(*) from dyno_crm.report_win_loss_deal where run_id = %(r)s)"
        " + (select count(*) from dyno_crm.report_aging_deal where run_id = %(r)s)",
        {"r": run_id},
    ).fetchone()
    conn.rollback()
    assert row is not None
    return int(row[0])


def age(conn: psycopg.Connection[Any], run_id: uuid.UUID, days: int) -> None:
    """Make the run ``days`` days old."""
    conn.execute(
        "update dyno_crm.report_run set generated_at = now() - make_interval(days => %s)"
        " where run_id = %s",
        (days, run_id),
    )
    conn.commit()


def prune(run_config: dict[str, Any] | None = None) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(DEAL_RETENTION_JOB).execute_in_process(
        run_config=run_config, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


def output_metadata(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    assert result.success
    [output] = [
        event
        for event in result.events_for_node(PRUNE_OP)
        if event.event_type_value == "STEP_OUTPUT"
    ]
    assert output.step_output_data is not None
    return {key: value.value for key, value in output.step_output_data.metadata.items()}


def snapshot(conn: psycopg.Connection[Any], run_id: uuid.UUID) -> dict[str, Any]:
    """What retention must keep of a run: its header (but deals_pruned_at) and its facts."""
    kept = {key: value for key, value in header(conn, run_id).items() if key != "deals_pruned_at"}
    return {"header": kept, "facts": facts(conn, run_id)}


def test_the_job_prunes_the_deals_of_old_runs_and_keeps_headers_and_facts(
    retention_env: Env,
) -> None:
    assert SETTINGS.deal_retention_days == 90  # the shipped refresh.toml
    with connect(retention_env) as conn:
        old_aging = run_deal_aging_report(
            conn, scenarios.AG_TENANT, 10, 100, period_end=scenarios.AG_AS_OF
        )
        old_win_loss = run_deal_win_loss_report(
            conn, scenarios.WL_TENANT, scenarios.Q1_START, scenarios.Q1_END, breakdown="user"
        )
        old_facts_only = run_deal_win_loss_report(
            conn, scenarios.WL_TENANT, scenarios.Q1_START, scenarios.Q1_END, store_deals=False
        )
        month_old = run_deal_aging_report(
            conn, scenarios.AG_TENANT, 12, period_end=scenarios.AG_AS_OF
        )
        fresh = run_deal_aging_report(conn, scenarios.AG_TENANT, 13, period_end=scenarios.AG_AS_OF)
        for run_id in (old_aging, old_win_loss, old_facts_only):
            age(conn, run_id, 100)
        age(conn, month_old, 30)
        runs = (old_aging, old_win_loss, old_facts_only, month_old, fresh)
        before = {run_id: snapshot(conn, run_id) for run_id in runs}
        deals_before = {run_id: deal_rows(conn, run_id) for run_id in runs}
    old = (old_aging, old_win_loss)
    assert all(deals_before[run_id] > 0 for run_id in (*old, month_old, fresh))
    assert deals_before[old_facts_only] == 0

    started = datetime.now(UTC)
    metadata = output_metadata(prune())  # the job's default config: refresh.toml's 90 days
    finished = datetime.now(UTC)
    assert metadata["runs_pruned"] == 2
    assert metadata["deal_rows_deleted"] == sum(deals_before[run_id] for run_id in old)
    assert metadata["older_than_days"] == 90
    cutoff = datetime.fromtimestamp(float(metadata["cutoff"]), UTC)
    assert started - timedelta(days=90) <= cutoff <= finished - timedelta(days=90)

    with connect(retention_env) as conn:
        for run_id in runs:
            # Headers and fact rows are kept whole, every run's.
            assert snapshot(conn, run_id) == before[run_id]
            assert header(conn, run_id)["status"] == "SUCCEEDED"
        for run_id in old:
            assert deal_rows(conn, run_id) == 0
            pruned_at = header(conn, run_id)["deals_pruned_at"]
            assert pruned_at is not None
            assert started <= pruned_at <= finished
            stored = run_header(conn, run_id)
            assert stored is not None
            with pytest.raises(ReportRunError, match="deleted by retention"):
                list(iter_run_deals(conn, stored))
        for run_id in (old_facts_only, month_old, fresh):
            assert deal_rows(conn, run_id) == deals_before[run_id]
            assert header(conn, run_id)["deals_pruned_at"] is None
        audit = audit_report_runs(conn)
        assert audit.ok, audit.problems

    # Nothing left to do: a second run prunes nothing.
    again = output_metadata(prune())
    assert (again["runs_pruned"], again["deal_rows_deleted"]) == (0, 0)

    # The launchpad can ask for fewer days: the month-old run goes too, the fresh one stays.
    shorter = output_metadata(prune({"ops": {PRUNE_OP: {"config": {"older_than_days": 10}}}}))
    assert (shorter["runs_pruned"], shorter["deal_rows_deleted"]) == (1, deals_before[month_old])
    with connect(retention_env) as conn:
        assert deal_rows(conn, month_old) == 0
        assert deal_rows(conn, fresh) == deals_before[fresh]
        assert snapshot(conn, month_old) == before[month_old]


def test_bad_retention_config_fails_naming_the_field(retention_env: Env) -> None:
    result = prune({"ops": {PRUNE_OP: {"config": {"older_than_days": -1}}}})
    assert not result.success
    failure = result.failure_data_for_node(PRUNE_OP)
    assert failure is not None
    assert failure.error is not None
    assert "older_than_days: must be between 0 and 36500, not -1" in failure.error.to_string()
    with pytest.raises(dg.DagsterInvalidConfigError, match="older_than_days"):
        prune({"ops": {PRUNE_OP: {"config": {"older_than_days": "ninety"}}}})


def test_the_schedule_runs_the_job_daily_at_five_in_the_refresh_zone(retention_env: Env) -> None:
    schedule = defs.resolve_schedule_def("deal_retention_schedule")
    assert schedule.cron_schedule == "0 5 * * *"
    assert schedule.execution_timezone == SETTINGS.timezone
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == DEAL_RETENTION_JOB
    tick = datetime(2026, 1, 2, 5, tzinfo=UTC)
    instance = dg.DagsterInstance.ephemeral()
    context = dg.build_schedule_context(instance=instance, scheduled_execution_time=tick)
    requests = schedule.evaluate_tick(context).run_requests
    assert requests is not None
    [request] = requests
    assert request.run_key == f"retention/{tick.isoformat()}"
    # What the daemon does with the request: the job with its default config (90 days).
    result = defs.resolve_job_def(DEAL_RETENTION_JOB).execute_in_process(
        run_config=request.run_config, tags=request.tags, instance=instance
    )
    assert output_metadata(result)["older_than_days"] == SETTINGS.deal_retention_days
