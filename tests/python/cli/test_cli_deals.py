"""`dyno-reports` for breakdowns, per-stage thresholds, a run's deals, retention and tenants."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cli_runs import AG, AGING, WIN_LOSS, run_cli

from orchestration.db import connect
from orchestration.reports import run_deal_aging_report, run_deal_win_loss_report

import scenarios
from conftest import Env
from report_rows import facts, run_count


def run_id_of(out: str) -> uuid.UUID:
    return uuid.UUID(json.loads(out)["run"]["run_id"])


def test_win_loss_breakdown_marks_every_row_in_json(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli([*WIN_LOSS, "--breakdown", "source", "--json"], capsys)
    assert code == 0
    rows = json.loads(out)["facts"]
    seeds = [row for row in rows if row["breakdown"] is None and not row["all_pipelines"]]
    values = [row for row in rows if row["breakdown"] == "source"]
    assert seeds
    assert values
    assert all("all_stages" not in row for row in rows)  # aging only
    with connect(pg_env) as conn:
        plain = run_deal_win_loss_report(
            conn, scenarios.WL_TENANT, scenarios.Q1_START, scenarios.Q1_END
        )
        expected = facts(conn, plain)
    # The seeds' rows are those of the same run without a breakdown.
    key = ("pipeline_id", "deals_closed_won_count", "deals_closed_lost_count", "win_rate")
    assert sorted(tuple(str(r[k]) for k in key) for r in seeds) == sorted(
        tuple(str(r[k]) for k in key) for r in expected
    )
    total = [row for row in rows if row["breakdown"] is None and row["all_pipelines"]]
    assert len(total) == 1
    assert total[0]["pipeline_id"] is None
    assert total[0]["closed_count"] == sum(row["closed_count"] for row in seeds)


def test_text_output_says_a_shared_deal_counts_for_both_users(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli([*WIN_LOSS, "--breakdown", "user"], capsys)
    assert code == 0
    assert "counts in both users' rows" in out
    assert "(all pipelines)" in out
    heading = next(line for line in out.splitlines() if line.startswith("pipeline"))
    assert heading.split()[:2] == ["pipeline", "by"]


def test_stage_threshold_equals_the_api_and_is_stored(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*AGING, "--to", scenarios.AG_AS_OF.isoformat()]
    code, out, _ = run_cli([*argv, "--stage-threshold", f"{scenarios.AG_LEAD}=3", "--json"], capsys)
    assert code == 0
    document = json.loads(out)
    assert document["run"]["input_params"]["stage_threshold_days"] == {str(scenarios.AG_LEAD): 3}
    by_stage = {row["stage_id"]: row["threshold_days"] for row in document["facts"]}
    assert by_stage[str(scenarios.AG_LEAD)] == 3
    assert by_stage[str(scenarios.AG_QUALIFIED)] == 10
    with connect(pg_env) as conn:
        api = run_deal_aging_report(
            conn,
            scenarios.AG_TENANT,
            10,
            period_end=scenarios.AG_AS_OF,
            stage_threshold_days={scenarios.AG_LEAD: 3},
        )
        assert facts(conn, api) == facts(conn, run_id_of(out))


STAGE = str(scenarios.AG_LEAD)
BAD_OPTIONS = [
    ([*WIN_LOSS, "--breakdown", "owner"], "--breakdown: invalid choice: 'owner'"),
    ([*AGING, "--breakdown", "source"], "--breakdown: invalid choice: 'source'"),
    (
        [*WIN_LOSS, "--breakdown", "user", "--principal-type", "USER", "--principal-id", AG],
        "--breakdown: 'user' cannot be combined with the principal_type filter",
    ),
    ([*WIN_LOSS, "--breakdown", "source", "--source", "web"], "--breakdown: 'source' cannot"),
    ([*AGING, "--stage-threshold", STAGE], "--stage-threshold: must be STAGE=DAYS"),
    ([*AGING, "--stage-threshold", f"{STAGE}=1_0"], "--stage-threshold: must be a whole"),
    ([*AGING, "--stage-threshold", f"{STAGE}=-2"], "--stage-threshold: must be between"),
    ([*AGING, "--stage-threshold", "lead=2"], "--stage-threshold: is not a valid UUID"),
    (
        [*AGING, "--stage-threshold", f"{STAGE}=2", "--stage-threshold", f"{STAGE.upper()}=3"],
        f"--stage-threshold: stage {STAGE} is given twice",
    ),
    (
        [*AGING, "--stage-threshold", f"{uuid.UUID(int=7)}=2"],
        f"--stage-threshold: stage {uuid.UUID(int=7)} is not a pipeline stage of tenant",
    ),
    (
        [*AGING, "--stage-threshold", f"{scenarios.TWIN_OPEN_STAGE}=2"],  # another tenant's
        "is not a pipeline stage of tenant",
    ),
    (["deals", "nope"], "RUN_ID: is not a valid UUID"),
    (["deals", str(uuid.uuid4()), "--json", "--csv"], "not allowed with argument"),
    (["prune", "--older-than-days", "x"], "--older-than-days: must be a whole"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_OPTIONS)
def test_a_bad_option_is_one_line_naming_it_nothing_written(
    pg_env: Env, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with connect(pg_env) as conn:
        before = run_count(conn)
    code, out, err = run_cli(argv, capsys)
    assert (code, out) == (2, "")
    assert err.count("\n") == 1, err
    assert message in err
    with connect(pg_env) as conn:
        assert run_count(conn) == before


def test_deals_lists_what_the_run_counted_in_every_format(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli([*AGING, "--to", scenarios.AG_AS_OF.isoformat(), "--json"], capsys)
    assert code == 0
    document = json.loads(out)
    run_id = document["run"]["run_id"]
    at_risk_total = sum(row["at_risk_deal_count"] for row in document["facts"])
    deal_total = sum(row["total_deal_count"] for row in document["facts"])
    assert document["run"]["deal_count"] == deal_total

    code, out, _ = run_cli(["deals", run_id, "--json"], capsys)
    assert code == 0
    deals = json.loads(out)
    assert len(deals) == deal_total
    days = [float(deal["days_in_stage"]) for deal in deals]
    assert days == sorted(days, reverse=True)  # longest in stage first

    code, out, _ = run_cli(["deals", run_id, "--at-risk", "--csv"], capsys)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == at_risk_total
    assert {row["at_risk"] for row in rows} <= {"true"}

    code, out, _ = run_cli(["deals", run_id, "--stage", str(scenarios.AG_LEAD)], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["deal", "pipeline", "stage"]
    lead_deals = [d for d in deals if d["stage_id"] == str(scenarios.AG_LEAD)]
    assert len(lines) - 2 == len(lead_deals)


def test_deals_of_a_run_without_them_say_why(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli([*WIN_LOSS, "--no-deals", "--json"], capsys)
    assert code == 0
    document = json.loads(out)
    assert document["run"]["deal_count"] is None
    assert document["run"]["input_params"]["store_deals"] is False
    code, out, err = run_cli(["deals", document["run"]["run_id"]], capsys)
    assert (code, out) == (1, "")
    assert "stored no deals" in err
    code, out, err = run_cli(["deals", str(scenarios.AG_TENANT), "--at-risk"], capsys)
    assert code == 1
    assert "no report run" in err


def test_at_risk_applies_to_aging_runs_only(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli([*WIN_LOSS, "--json"], capsys)
    run_id = run_id_of(out)
    code, out, err = run_cli(["deals", str(run_id), "--at-risk"], capsys)
    assert (code, out) == (2, "")
    assert "--at-risk: applies to aging runs only" in err


def test_prune_deletes_old_runs_deals_and_keeps_headers_and_facts(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli([*WIN_LOSS, "--json"], capsys)
    run_id = run_id_of(out)
    with connect(pg_env) as conn:
        kept_facts = facts(conn, run_id)
        conn.execute(
            "update dyno_crm.report_run set generated_at = %s where run_id = %s",
            (datetime.now(UTC) - timedelta(days=400), run_id),
        )
        conn.commit()
    code, out, _ = run_cli(["prune", "--older-than-days", "365"], capsys)
    assert code == 0
    assert out.startswith("deleted ")
    with connect(pg_env) as conn:
        assert facts(conn, run_id) == kept_facts
        left = conn.execute(
            "select count(*) from dyno_crm.report_win_loss_deal where run_id = %s", (run_id,)
        ).fetchone()
        pruned = conn.execute(
            "select deals_pruned_at from dyno_crm.report_run where run_id = %s", (run_id,)
        ).fetchone()
    assert left == (0,)
    assert pruned is not None
    assert pruned[0] is not None
    code, out, err = run_cli(["deals", str(run_id)], capsys)
    assert code == 1
    assert "deleted by retention" in err
    code, out, _ = run_cli(["runs", "--check"], capsys)
    assert "PROBLEM" not in out


def test_tenants_json_has_the_documented_keys(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(["tenants", "--json"], capsys)
    assert code == 0
    tenants = json.loads(out)
    assert set(tenants[0]) == {
        "tenant_id", "deal_count", "open_deal_count", "pipeline_count", "latest_stage_entry"
    }  # fmt: skip
    by_id = {row["tenant_id"]: row for row in tenants}
    with connect(pg_env) as conn:
        row = conn.execute(
            "select count(*), (select count(*) from dyno_crm.pipeline where tenant_id = %s),"
            " (select max(entered_at) from dyno_crm.deal_pipeline_stage_state"
            " where tenant_id = %s) from dyno_crm.deal where tenant_id = %s",
            (scenarios.AG_TENANT,) * 3,
        ).fetchone()
    assert row is not None
    ours = by_id[str(scenarios.AG_TENANT)]
    assert (ours["deal_count"], ours["pipeline_count"]) == (row[0], row[1])
    assert datetime.fromisoformat(ours["latest_stage_entry"]) == row[2]
    code, out, _ = run_cli(["tenants"], capsys)
    assert out.splitlines()[0].split()[:2] == ["tenant", "deals"]
