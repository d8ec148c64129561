"""The report options of issue 15 through Dagster: breakdowns, per-stage thresholds, stored
deals, and what the materialisation shows of them (freshness, deal count, at-risk deals).

Every asset is materialised for real (in process, real PostgreSQL) and compared with the
engine's run of the same parameters.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Any

import dagster as dg
import psycopg
import pytest

from orchestration.db import connect
from orchestration.definitions import defs
from orchestration.defs.partitions import TENANTS_PARTITIONS_NAME
from orchestration.defs.report_assets import TOP_AT_RISK_DEALS
from orchestration.defs.tenant_assets import REFRESHED_AT_TAG
from orchestration.refresh.config import load_refresh_settings
from orchestration.refresh.standard_reports import standard_aging, standard_win_loss
from orchestration.reports import run_deal_aging_report, run_deal_win_loss_report
from orchestration.reports.dagster_runs import headers_of_dagster_run
from orchestration.reports.parameters import ReportParameters
from orchestration.reports.results import run_report
from orchestration.reports.run_deals import iter_run_deals
from orchestration.reports.stored_runs import run_header

import scenarios
from conftest import Env
from report_rows import header, run_count

pytestmark = pytest.mark.dagster

WIN_LOSS = {
    "tenant_id": str(scenarios.WL_TENANT),
    "period_start": "2025-01-01",
    "period_end": "2025-04-01",
}
AGING = {
    "tenant_id": str(scenarios.AG_TENANT),
    "threshold_days": 10,
    "cycle_threshold_days": 100,
    "period_end": scenarios.AG_AS_OF.isoformat(),
}
# Qualified gets 20 days: deal a4 (12 days in Qualified, 31 days old) is then not at risk,
# where the tenant-wide 10 days would make it so.
QUALIFIED_DAYS = 20
AG_A4 = scenarios.uid("ag", "a4")
JOBS = {
    "deal_win_loss_report": "deal_win_loss_report_job",
    "deal_aging_report": "deal_aging_report_job",
}


def materialise(asset: str, config: dict[str, Any]) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(JOBS[asset]).execute_in_process(
        run_config={"ops": {asset: {"config": config}}},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def metadata_of(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    assert result.success
    [event] = result.asset_materializations_for_node(asset)
    return dict(event.metadata)


def run_of(metadata: dict[str, Any], prefix: str = "") -> uuid.UUID:
    return uuid.UUID(str(metadata[f"{prefix}run_id"].value))


def sorted_facts(conn: psycopg.Connection[Any], run_id: uuid.UUID) -> list[dict[str, Any]]:
    """The run's fact rows without run_id, in a total order (breakdown rows share pipelines)."""
    table = {
        "deal_win_loss": "dyno_crm.report_deal_win_loss_fact",
        "deal_aging": "dyno_crm.report_deal_aging_fact",
    }[header(conn, run_id)["report_type"]]
    with conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute(f"select * from {table} where run_id = %s", (run_id,)).fetchall()
    conn.rollback()
    for row in rows:
        del row["run_id"]
    return sorted(rows, key=lambda row: str(sorted((k, str(v)) for k, v in row.items())))


def seeds_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The seeds' rows of a run: no breakdown, no total."""
    return [
        row
        for row in rows
        if row["breakdown"] is None and not row["all_pipelines"] and not row.get("all_stages")
    ]


def deal_rows(conn: psycopg.Connection[Any], run_id: uuid.UUID) -> int:
    row = conn.execute(
        "select (select count(*) from dyno_crm.report_win_loss_deal where run_id = %(r)s)"
        " + (select count(*) from dyno_crm.report_aging_deal where run_id = %(r)s)",
        {"r": run_id},
    ).fetchone()
    conn.rollback()
    assert row is not None
    return int(row[0])


def table_records(metadata: dict[str, Any], key: str) -> list[dg.TableRecord]:
    table = metadata[key]
    assert isinstance(table, dg.TableMetadataValue)
    return list(table.records)


def timestamp(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def assert_freshness_and_deals(metadata: dict[str, Any], stored: dict[str, Any]) -> None:
    """The materialisation's freshness and deal count are the header's."""
    assert stored["data_latest_stage_entry"] is not None
    assert stored["models_built_at"] is not None
    assert metadata["data_latest_stage_entry"].value == timestamp(stored["data_latest_stage_entry"])
    assert metadata["models_built_at"].value == timestamp(stored["models_built_at"])
    assert metadata["deal_count"].value == stored["deal_count"]


def test_a_win_loss_breakdown_by_user_stores_the_engines_rows(pg_env: Env) -> None:
    metadata = metadata_of(
        materialise("deal_win_loss_report", {**WIN_LOSS, "breakdown": "user"}),
        "deal_win_loss_report",
    )
    asset_run = run_of(metadata)
    with connect(pg_env) as conn:
        api_run = run_deal_win_loss_report(
            conn, scenarios.WL_TENANT, scenarios.Q1_START, scenarios.Q1_END, breakdown="user"
        )
        plain_run = run_deal_win_loss_report(
            conn, scenarios.WL_TENANT, scenarios.Q1_START, scenarios.Q1_END
        )
        stored = header(conn, asset_run)
        assert stored["input_params"] == header(conn, api_run)["input_params"]
        assert stored["input_params"]["breakdown"] == "user"
        rows = sorted_facts(conn, asset_run)
        assert rows == sorted_facts(conn, api_run)
        # The seeds' rows are those of the same run without a breakdown, unchanged.
        assert seeds_rows(rows) == sorted_facts(conn, plain_run)
        assert deal_rows(conn, asset_run) == stored["deal_count"] > 0
    users = {row["principal_id"] for row in rows if row["breakdown"] == "user"}
    # w2 is owned by user 2 and assigned to user 1: both users have rows.
    assert {scenarios.WL_USER_1, scenarios.WL_USER_2} <= users
    assert {row["principal_type"] for row in rows if row["breakdown"] == "user"} == {"USER"}
    assert any(row["all_pipelines"] and row["breakdown"] is None for row in rows)
    assert metadata["breakdown"].value == "user"
    assert metadata["fact_rows"].value == len(rows)
    assert "top_at_risk_deals" not in metadata  # a win/loss run has no at-risk deals
    assert_freshness_and_deals(metadata, stored)


def test_an_aging_breakdown_with_stage_thresholds_stores_the_engines_rows_and_thresholds(
    pg_env: Env,
) -> None:
    thresholds = {str(scenarios.AG_QUALIFIED): QUALIFIED_DAYS}
    config = {**AGING, "breakdown": "user", "stage_threshold_days": thresholds}
    metadata = metadata_of(materialise("deal_aging_report", config), "deal_aging_report")
    asset_run = run_of(metadata)
    with connect(pg_env) as conn:
        api_run = run_deal_aging_report(
            conn,
            scenarios.AG_TENANT,
            10,
            100,
            period_end=scenarios.AG_AS_OF,
            breakdown="user",
            stage_threshold_days={scenarios.AG_QUALIFIED: QUALIFIED_DAYS},
        )
        stored = header(conn, asset_run)
        assert stored["input_params"] == header(conn, api_run)["input_params"]
        assert stored["input_params"]["stage_threshold_days"] == thresholds
        rows = sorted_facts(conn, asset_run)
        assert rows == sorted_facts(conn, api_run)
        at_risk = list(iter_run_deals(conn, stored, at_risk=True, limit=TOP_AT_RISK_DEALS))
    stage_rows = [row for row in rows if not row["all_stages"]]
    assert {
        row["threshold_days"] for row in stage_rows if row["stage_id"] == scenarios.AG_QUALIFIED
    } == {QUALIFIED_DAYS}
    assert {
        row["threshold_days"] for row in stage_rows if row["stage_id"] == scenarios.AG_LEAD
    } == {10}
    # The user's row, and the row of the deals with no user (never a total).
    assert {row["principal_id"] for row in rows if row["breakdown"] == "user"} == {
        scenarios.AG_USER,
        None,
    }
    assert metadata["breakdown"].value == "user"
    assert_freshness_and_deals(metadata, stored)

    # The top at-risk deals: exactly what iter_run_deals gives, longest in stage first.
    table = metadata["top_at_risk_deals"]
    assert isinstance(table, dg.TableMetadataValue)
    assert table.schema is not None
    assert [column.name for column in table.schema.columns] == [
        "deal",
        "deal_id",
        "pipeline",
        "stage",
        "days_in_stage",
        "amount",
        "at_risk_by",
        "owner_id",
    ]
    assert at_risk, "a1 (31 days in Lead) and a2 (151 days old) are at risk"
    assert [record.data for record in table.records] == [
        {
            "deal": deal["deal_name"],
            "deal_id": str(deal["deal_id"]),
            "pipeline": deal["pipeline_name"],
            "stage": deal["stage_name"],
            "days_in_stage": float(deal["days_in_stage"]),
            "amount": str(deal["amount"]),
            "at_risk_by": deal["at_risk_by"],
            "owner_id": (
                None
                if deal["owned_by_user_id"] is None and deal["owned_by_group_id"] is None
                else str(deal["owned_by_user_id"] or deal["owned_by_group_id"])
            ),
        }
        for deal in at_risk
    ]
    days = [float(str(record.data["days_in_stage"])) for record in table.records]
    assert days == sorted(days, reverse=True)
    assert {record.data["at_risk_by"] for record in table.records} == {"stage", "cycle"}
    # Qualified's own 20 days keep a4 (12 days there) off the list.
    assert str(AG_A4) not in {record.data["deal_id"] for record in table.records}


def test_the_tenant_wide_threshold_alone_puts_a4_at_risk(pg_env: Env) -> None:
    """The other side of the stage threshold above: the same run without it lists a4."""
    metadata = metadata_of(materialise("deal_aging_report", AGING), "deal_aging_report")
    records = table_records(metadata, "top_at_risk_deals")
    assert str(AG_A4) in {record.data["deal_id"] for record in records}


def test_store_deals_false_keeps_facts_only(pg_env: Env) -> None:
    metadata = metadata_of(
        materialise("deal_aging_report", {**AGING, "threshold_days": 12, "store_deals": False}),
        "deal_aging_report",
    )
    run_id = run_of(metadata)
    with connect(pg_env) as conn:
        stored = header(conn, run_id)
        assert stored["deal_count"] is None
        assert deal_rows(conn, run_id) == 0
        assert stored["input_params"]["store_deals"] is False
        assert sorted_facts(conn, run_id)
    assert metadata["deal_count"].value is None
    assert "top_at_risk_deals" not in metadata
    assert "breakdown" not in metadata


OTHER_TENANTS_STAGE = str(scenarios.WL_P1_LEAD)
UNKNOWN_STAGE = "00000000-0000-4000-8000-00000000abcd"


@pytest.mark.parametrize(
    ("asset", "config", "message"),
    [
        (
            "deal_win_loss_report",
            {**WIN_LOSS, "breakdown": "stage"},
            "breakdown: must be one of 'user', 'group', 'source', 'first_stage', not 'stage'",
        ),
        (
            "deal_aging_report",
            {**AGING, "breakdown": "source"},
            "breakdown: must be one of 'user', 'group', not 'source'",
        ),
        (
            "deal_win_loss_report",
            {
                **WIN_LOSS,
                "breakdown": "user",
                "principal_type": "USER",
                "principal_id": str(scenarios.WL_USER_1),
            },
            "breakdown: 'user' cannot be combined with the principal_type filter",
        ),
        (
            "deal_win_loss_report",
            {**WIN_LOSS, "breakdown": "source", "source": "web"},
            "breakdown: 'source' cannot be combined with the source filter",
        ),
        (
            "deal_aging_report",
            {**AGING, "stage_threshold_days": {"lead": 3}},
            "stage_threshold_days: is not a valid UUID: 'lead'",
        ),
        (
            "deal_aging_report",
            {**AGING, "stage_threshold_days": {str(scenarios.AG_LEAD): -1}},
            f"stage_threshold_days[{scenarios.AG_LEAD}]: must be between 0 and 36500, not -1",
        ),
        (
            "deal_aging_report",
            {**AGING, "stage_threshold_days": {UNKNOWN_STAGE: 5}},
            f"stage_threshold_days: stage {UNKNOWN_STAGE} is not a pipeline stage of tenant",
        ),
        (
            "deal_aging_report",
            {**AGING, "stage_threshold_days": {OTHER_TENANTS_STAGE: 5}},
            f"stage_threshold_days: stage {OTHER_TENANTS_STAGE} is not a pipeline stage of tenant",
        ),
        (
            "deal_aging_report",
            # the same stage twice: in its two spellings
            {
                **AGING,
                "stage_threshold_days": {
                    str(scenarios.AG_LEAD): 5,
                    str(scenarios.AG_LEAD).upper(): 6,
                },
            },
            f"stage_threshold_days: stage {scenarios.AG_LEAD} is given twice",
        ),
    ],
)
def test_a_bad_option_fails_naming_it_and_writes_nothing(
    pg_env: Env, asset: str, config: dict[str, Any], message: str
) -> None:
    with connect(pg_env) as conn:
        before = run_count(conn)
        result = materialise(asset, config)
        assert not result.success
        assert run_count(conn) == before
    failure = result.failure_data_for_node(asset)
    assert failure is not None
    assert failure.error is not None
    assert message in failure.error.to_string()


@pytest.mark.parametrize(
    ("config", "field"),
    [
        (
            {**AGING, "stage_threshold_days": {str(scenarios.AG_LEAD): "ten"}},
            "stage_threshold_days",
        ),
        ({**AGING, "store_deals": "yes"}, "store_deals"),
        ({**AGING, "breakdown": 3}, "breakdown"),
    ],
)
def test_options_of_the_wrong_type_are_refused_at_launch(
    pg_env: Env, config: dict[str, Any], field: str
) -> None:
    with pytest.raises(dg.DagsterInvalidConfigError, match=field):
        materialise("deal_aging_report", config)


def tenant_job(job: str, tenant: uuid.UUID, refreshed_at: datetime) -> dg.ExecuteInProcessResult:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(TENANTS_PARTITIONS_NAME, [str(tenant)])
    return defs.resolve_job_def(job).execute_in_process(
        instance=instance,
        partition_key=str(tenant),
        tags={REFRESHED_AT_TAG: refreshed_at.isoformat()},
    )


def test_the_standard_set_breaks_both_reports_down_by_user_in_the_same_runs(pg_env: Env) -> None:
    """refresh.toml's breakdown: each standard run stores the seeds' rows unchanged plus the
    per-user rows, so the set keeps its runs (3 win/loss periods + aging per tenant)."""
    settings = load_refresh_settings()
    assert settings.breakdown == "user"
    checked = user_rows = 0
    for job, tenant, refreshed_at, labels in (
        (
            "tenant_deal_win_loss_job",
            scenarios.WL_TENANT,
            scenarios.Q1_END,
            ("day", "week", "month"),
        ),
        ("tenant_deal_aging_job", scenarios.AG_TENANT, scenarios.AG_AS_OF, ("aging",)),
    ):
        result = tenant_job(job, tenant, refreshed_at)
        assert result.success
        [event] = result.asset_materializations_for_node(job.removesuffix("_job"))
        metadata = dict(event.metadata)
        with connect(pg_env) as conn:
            assert len(headers_of_dagster_run(conn, result.run_id)) == len(labels)
            expected: list[ReportParameters] = (
                [item.parameters for item in standard_win_loss(tenant, refreshed_at, settings)]
                if len(labels) > 1
                else [standard_aging(tenant, refreshed_at, settings)]
            )
            for label, params in zip(labels, expected, strict=True):
                run_id = run_of(metadata, f"{label}_")
                stored = run_header(conn, run_id)
                assert stored is not None
                assert stored["input_params"]["breakdown"] == "user"
                assert params.breakdown == "user"
                rows = sorted_facts(conn, run_id)
                assert rows == sorted_facts(conn, run_report(conn, params).run_id)
                plain = run_report(conn, dataclasses.replace(params, breakdown=None))
                assert seeds_rows(rows) == sorted_facts(conn, plain.run_id)
                assert metadata[f"{label}_breakdown"].value == "user"
                assert metadata[f"{label}_deal_count"].value == stored["deal_count"]
                assert metadata[f"{label}_fact_rows"].value == len(rows)
                checked += 1
                user_rows += sum(row["breakdown"] == "user" for row in rows)
            # The tenant's reports read one build: its freshness is shown once.
            first = run_header(conn, run_of(metadata, f"{labels[0]}_"))
            assert first is not None
            assert metadata["models_built_at"].value == timestamp(first["models_built_at"])
            assert metadata["data_latest_stage_entry"].value == timestamp(
                first["data_latest_stage_entry"]
            )
            if "aging" in labels:
                at_risk = list(iter_run_deals(conn, first, at_risk=True, limit=TOP_AT_RISK_DEALS))
                records = table_records(metadata, "aging_top_at_risk_deals")
                assert [r.data["deal_id"] for r in records] == [str(d["deal_id"]) for d in at_risk]
                assert records
    assert checked == 4
    assert user_rows > 0
