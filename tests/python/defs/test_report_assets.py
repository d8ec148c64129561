"""Both report assets materialised in-process through their jobs, with run config."""

from __future__ import annotations

import uuid
from typing import Any

import dagster as dg
import psycopg
import pytest

from orchestration.db import connect
from orchestration.definitions import defs
from orchestration.defs.partitions import TENANTS_PARTITIONS_NAME
from orchestration.defs.report_assets import deal_aging_report
from orchestration.defs.resources import PostgresResource
from orchestration.defs.tenant_assets import REFRESHED_AT_TAG
from orchestration.present.columns import report_columns
from orchestration.reports import run_deal_aging_report, run_deal_win_loss_report
from orchestration.reports.dagster_runs import headers_of_dagster_run
from orchestration.reports.errors import is_transient

import scenarios
from conftest import Env
from report_rows import facts, header, run_count

pytestmark = pytest.mark.dagster

WIN_LOSS_CONFIG = {
    "tenant_id": str(scenarios.WL_TENANT),
    "period_start": "2025-01-01",
    "period_end": "2025-04-01T00:00:00+00:00",
    "principal_type": "USER",
    "principal_id": str(scenarios.WL_USER_1),
}
AGING_CONFIG = {
    "tenant_id": str(scenarios.AG_TENANT),
    "threshold_days": 10,
    "cycle_threshold_days": 100,
    "period_end": scenarios.AG_AS_OF.isoformat(),
}


def run_job(job: str, asset: str, config: dict[str, Any]) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(job).execute_in_process(
        run_config={"ops": {asset: {"config": config}}},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def materialization(result: dg.ExecuteInProcessResult, asset: str) -> dg.AssetMaterialization:
    [event] = result.asset_materializations_for_node(asset)
    return event


def test_win_loss_asset_stores_the_same_facts_as_the_api(pg_env: Env) -> None:
    result = run_job("deal_win_loss_report_job", "deal_win_loss_report", WIN_LOSS_CONFIG)
    assert result.success
    metadata = materialization(result, "deal_win_loss_report").metadata
    with connect(pg_env) as conn:
        asset_run = uuid.UUID(metadata["run_id"].value)  # type: ignore[arg-type]
        api_run = run_deal_win_loss_report(
            conn,
            scenarios.WL_TENANT,
            scenarios.Q1_START,
            scenarios.Q1_END,
            principal_type="USER",
            principal_id=scenarios.WL_USER_1,
        )
        assert header(conn, asset_run)["status"] == "SUCCEEDED"
        assert header(conn, asset_run)["dagster_run_id"] == result.run_id
        assert header(conn, api_run)["dagster_run_id"] is None
        assert header(conn, asset_run)["input_params"] == header(conn, api_run)["input_params"]
        asset_facts = facts(conn, asset_run)
        assert asset_facts == facts(conn, api_run)
    assert asset_facts, "the scenario has deals of user 1 closed in Q1"
    assert metadata["fact_rows"].value == len(asset_facts)
    preview = str(metadata["preview"].value)
    # The preview is the fact rows in the report's own columns (orchestration/present), the
    # "by" column only with a breakdown.
    headings = [column.heading for column in report_columns("deal_win_loss", asset_facts)]
    assert "by" not in headings
    assert preview.splitlines()[0] == "| " + " | ".join(headings) + " |"
    assert headings[0] == "pipeline"
    assert {"won", "lost"} <= set(headings)
    assert "P1" in preview


def test_aging_asset_stores_the_same_facts_as_the_api(pg_env: Env) -> None:
    result = run_job("deal_aging_report_job", "deal_aging_report", AGING_CONFIG)
    assert result.success
    metadata = materialization(result, "deal_aging_report").metadata
    with connect(pg_env) as conn:
        asset_run = uuid.UUID(metadata["run_id"].value)  # type: ignore[arg-type]
        api_run = run_deal_aging_report(
            conn, scenarios.AG_TENANT, 10, 100, period_end=scenarios.AG_AS_OF
        )
        asset_facts = facts(conn, asset_run)
        assert asset_facts == facts(conn, api_run)
        assert header(conn, asset_run)["input_params"] == header(conn, api_run)["input_params"]
    assert asset_facts
    assert metadata["fact_rows"].value == len(asset_facts)


@pytest.mark.parametrize(
    ("job", "asset", "config", "message"),
    [
        (
            "deal_win_loss_report_job",
            "deal_win_loss_report",
            {**WIN_LOSS_CONFIG, "period_end": "2024-12-01"},
            "period_end: must be after period_start",
        ),
        (
            "deal_win_loss_report_job",
            "deal_win_loss_report",
            {**WIN_LOSS_CONFIG, "tenant_id": "not-a-uuid"},
            "tenant_id: is not a valid UUID",
        ),
        (
            "deal_win_loss_report_job",
            "deal_win_loss_report",
            {**WIN_LOSS_CONFIG, "principal_type": "ROLE"},
            "principal_type: must be 'USER' or 'GROUP'",
        ),
        (
            "deal_win_loss_report_job",
            "deal_win_loss_report",
            {**WIN_LOSS_CONFIG, "principal_id": None},
            "principal_id: is required when principal_type is given",
        ),
        (
            "deal_win_loss_report_job",
            "deal_win_loss_report",
            {**WIN_LOSS_CONFIG, "period_start": "2025-01-01T00:00:00"},
            "period_start: needs a UTC offset",
        ),
        (
            "deal_aging_report_job",
            "deal_aging_report",
            {**AGING_CONFIG, "lock_timeout_ms": 0},
            "lock_timeout_ms: must be between 1 and",
        ),
        (
            "deal_aging_report_job",
            "deal_aging_report",
            {**AGING_CONFIG, "threshold_days": -1},
            "threshold_days: must be between 0 and 36500",
        ),
        (
            "deal_aging_report_job",
            "deal_aging_report",
            {**AGING_CONFIG, "pipeline_id": "'; drop table dyno_crm.report_run; --"},
            "pipeline_id: is not a valid UUID",
        ),
    ],
)
def test_bad_config_is_rejected_before_anything_is_written(
    pg_env: Env, job: str, asset: str, config: dict[str, Any], message: str
) -> None:
    with connect(pg_env) as conn:
        before = run_count(conn)
        result = run_job(job, asset, config)
        assert not result.success
        assert run_count(conn) == before
    failure = result.failure_data_for_node(asset)
    assert failure is not None
    assert failure.error is not None
    assert message in failure.error.to_string()


def test_config_of_the_wrong_type_is_refused_at_launch(pg_env: Env) -> None:
    with pytest.raises(dg.DagsterInvalidConfigError, match="threshold_days"):
        run_job(
            "deal_aging_report_job", "deal_aging_report", {**AGING_CONFIG, "threshold_days": "x"}
        )


def test_only_a_lost_connection_is_retried() -> None:
    assert is_transient(psycopg.OperationalError("server closed the connection unexpectedly"))
    assert is_transient(psycopg.errors.AdminShutdown())
    assert not is_transient(psycopg.errors.QueryCanceled())
    assert not is_transient(psycopg.errors.LockNotAvailable())
    assert not is_transient(psycopg.errors.UndefinedTable())
    assert not is_transient(ValueError("bad input"))


_connect_attempts: list[int] = []


class FirstConnectionRefused(PostgresResource):
    """The report database, except that the first connection of the test is refused."""

    def connect(self) -> psycopg.Connection[Any]:
        _connect_attempts.append(1)
        if len(_connect_attempts) == 1:
            # A real refused connection (nothing listens on port 1), not a stand-in error.
            return psycopg.connect(host="127.0.0.1", port=1, connect_timeout=5)
        return super().connect()


def test_a_refused_connection_is_retried_and_the_report_stored_once(built_env: Env) -> None:
    _connect_attempts.clear()
    config = {**AGING_CONFIG, "threshold_days": 11}
    result = dg.materialize(
        [deal_aging_report],
        run_config={"ops": {"deal_aging_report": {"config": config}}},
        resources={"postgres": FirstConnectionRefused.from_environment(built_env)},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    retries = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert len(retries) == 1
    assert len(_connect_attempts) == 2
    [event] = result.asset_materializations_for_node("deal_aging_report")
    run_id = uuid.UUID(str(event.metadata["run_id"].value))
    with connect(built_env) as conn:
        assert header(conn, run_id)["status"] == "SUCCEEDED"
        row = conn.execute(
            "select count(*) from dyno_crm.report_run where dagster_run_id = %s",
            (result.run_id,),
        ).fetchone()
        assert row == (1,)


def test_a_retried_step_does_not_run_the_reports_it_already_stored(pg_env: Env) -> None:
    """A retry runs the step again with the same Dagster run id: stored reports are reused."""
    tenant = str(scenarios.WL_TENANT)
    dagster_run_id = str(uuid.uuid4())
    tags = {REFRESHED_AT_TAG: scenarios.Q1_END.isoformat()}

    def attempt(job: str, run_id: str) -> dict[str, str]:
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions(TENANTS_PARTITIONS_NAME, [tenant])
        result = defs.resolve_job_def(job).execute_in_process(
            instance=instance, partition_key=tenant, run_id=run_id, tags=tags
        )
        [event] = result.asset_materializations_for_node(job.removesuffix("_job"))
        return {k: str(v.value) for k, v in event.metadata.items() if k.endswith("run_id")}

    def headers(run_id: str) -> int:
        with connect(pg_env) as conn:
            return len(headers_of_dagster_run(conn, run_id))

    for job, reports in (("tenant_deal_win_loss_job", 3), ("tenant_deal_aging_job", 1)):
        first = attempt(job, dagster_run_id)
        assert len(first) == reports
        stored = headers(dagster_run_id)
        assert attempt(job, dagster_run_id) == first  # the retry: same runs, none new
        assert headers(dagster_run_id) == stored
        other_run = str(uuid.uuid4())
        assert set(attempt(job, other_run).values()).isdisjoint(first.values())
        assert headers(other_run) == reports


def test_a_reexecuted_run_finds_the_report_its_root_run_stored(pg_env: Env) -> None:
    """A run killed after its report committed, then re-executed from the UI: the
    re-execution is the same request (its root run's) and stores no second report."""
    # rebuilt from its module, as a run launched by the daemon or the UI is
    reconstructable = dg.build_reconstructable_job("dagster_jobs", "win_loss_report_job")
    run_config = {
        "ops": {"deal_win_loss_report": {"config": WIN_LOSS_CONFIG}},
        "execution": {"config": {"in_process": {}}},
    }
    with dg.instance_for_test() as instance:
        with dg.execute_job(reconstructable, instance, run_config=run_config) as first:
            assert first.success
            [event] = first.asset_materializations_for_node("deal_win_loss_report")
            stored = str(event.metadata["run_id"].value)
        options = dg.ReexecutionOptions(parent_run_id=first.run_id)
        with dg.execute_job(
            reconstructable, instance, run_config=run_config, reexecution_options=options
        ) as again:
            assert again.success
            assert again.dagster_run.root_run_id == first.run_id
            [event] = again.asset_materializations_for_node("deal_win_loss_report")
            assert str(event.metadata["run_id"].value) == stored
    with connect(pg_env) as conn:
        row = conn.execute(
            "select count(*) from dyno_crm.report_run where request_id = ("
            "select request_id from dyno_crm.report_run where run_id = %s)",
            (stored,),
        ).fetchone()
    assert row == (1,)
