"""`dyno-reports` against a PG* database: output, exit codes, one-line errors, nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from cli_runs import AG, AGING, WIN_LOSS, WL, run_cli

from orchestration.db import connect
from orchestration.reports import run_deal_aging_report, run_deal_win_loss_report

import scenarios
from conftest import Env, create_database, drop_database, point_pg_at
from report_rows import facts, run_count


def report_run_count(env: Env) -> int:
    with connect(env) as conn:
        return run_count(conn)


def test_win_loss_prints_a_table_of_the_stored_run(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(WIN_LOSS, capsys)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].startswith("Deal Win/Loss: run ")
    assert "SUCCEEDED" in lines[0]
    assert lines[2].startswith("data: latest stage entry ")
    assert lines[3] == f"deals: 6 stored (`dyno-reports deals {lines[0].split()[3]}`)"
    assert lines[4].split() == [
        "pipeline", "won", "lost", "n", "win", "rate", "95%", "interval", "amount", "won",
        "amount", "lost", "win", "rate", "(amount)", "avg", "won", "avg", "lost",
    ]  # fmt: skip
    # Q1 2025 of the win/loss scenario, as test_win_loss_report.py works it out; the
    # intervals are the Wilson intervals of 3/4, 1/1 and 0/1.
    assert [line.split() for line in lines[6:]] == [
        ["P1", "3", "1", "4", "75.0%", "30.1-95.4%", "400.00", "50.00", "88.9%", "133.33",
         "50.00"],
        ["P2", "1", "0", "1", "100.0%", "20.6-100.0%", "10.00", "0.00", "100.0%", "10.00", "-"],
        ["(no", "pipeline)", "0", "1", "1", "0.0%", "0.0-79.4%", "0.00", "70.00", "0.0%", "-",
         "70.00"],
    ]  # fmt: skip


def test_win_loss_json_equals_the_api_for_the_same_filters(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(
        [
            *WIN_LOSS,
            "--principal-type",
            "USER",
            "--principal-id",
            str(scenarios.WL_USER_1),
            "--json",
        ],
        capsys,
    )
    assert code == 0
    document = json.loads(out)
    run_id = uuid.UUID(document["run"]["run_id"])
    assert document["run"]["status"] == "SUCCEEDED"
    with connect(pg_env) as conn:
        api_run = run_deal_win_loss_report(
            conn,
            scenarios.WL_TENANT,
            scenarios.Q1_START,
            scenarios.Q1_END,
            principal_type="USER",
            principal_id=scenarios.WL_USER_1,
        )
        assert facts(conn, run_id) == facts(conn, api_run)
    assert len(document["facts"]) == len(facts_of(pg_env, run_id)) > 0
    assert all(row["principal_type"] == "USER" for row in document["facts"])


def facts_of(env: Env, run_id: uuid.UUID) -> list[dict[str, Any]]:
    with connect(env) as conn:
        return facts(conn, run_id)


def test_aging_with_every_option_equals_the_api(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [
        *AGING,
        "--cycle-threshold-days", "100",
        "--from", "2025-01-01T00:00:00Z",
        "--to", scenarios.AG_AS_OF.isoformat(),
        "--principal-type", "GROUP",
        "--principal-id", str(scenarios.AG_GROUP),
        "--json",
    ]  # fmt: skip
    code, out, _ = run_cli(argv, capsys)
    assert code == 0
    run_id = uuid.UUID(json.loads(out)["run"]["run_id"])
    with connect(pg_env) as conn:
        api_run = run_deal_aging_report(
            conn,
            scenarios.AG_TENANT,
            10,
            100,
            period_start=scenarios.at("2025-01-01"),
            period_end=scenarios.AG_AS_OF,
            principal_type="GROUP",
            principal_id=scenarios.AG_GROUP,
        )
        assert facts(conn, run_id) == facts(conn, api_run)


def test_timeouts_are_passed_to_the_run(pg_env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    # A rebuild holding the model's lock: the run may wait 200 ms, then fails cleanly.
    with connect(pg_env) as blocker:
        blocker.execute("lock table dyno_crm_analytics.int_current_deals in access exclusive mode")
        code, out, err = run_cli([*AGING, "--lock-timeout-ms", "200"], capsys)
        blocker.rollback()
    assert (code, out) == (1, "")
    assert "lock" in err
    assert err.count("\n") == 1
    code, out, _ = run_cli([*AGING, "--statement-timeout-ms", "60000", "--json"], capsys)
    assert code == 0
    assert json.loads(out)["run"]["status"] == "SUCCEEDED"


def test_the_same_request_id_prints_the_stored_run_instead_of_running_again(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    request = str(uuid.uuid4())
    code, out, _ = run_cli([*WIN_LOSS, "--request-id", request, "--json"], capsys)
    assert code == 0
    first = json.loads(out)
    before = report_run_count(pg_env)
    code, out, _ = run_cli([*WIN_LOSS, "--request-id", request, "--json"], capsys)
    assert code == 0
    assert json.loads(out) == first
    assert report_run_count(pg_env) == before
    code, _, err = run_cli([*WIN_LOSS, "--source", "web", "--request-id", request], capsys)
    assert code == 2
    assert "argument --request-id: " in err
    assert "another report or other parameters" in err


def test_runs_lists_recent_runs_and_show_prints_one(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli([*AGING, "--json"], capsys)
    assert code == 0
    run_id = json.loads(out)["run"]["run_id"]
    code, out, _ = run_cli(["runs", "--tenant", AG, "--limit", "1"], capsys)
    assert code == 0
    [row] = out.splitlines()[2:]
    assert row.split()[:3] == [run_id, AG, "deal_aging"]
    assert "SUCCEEDED" in row
    code, out, _ = run_cli(["show", run_id], capsys)
    assert code == 0
    assert out.startswith(f"Deal Aging / At-Risk: run {run_id} SUCCEEDED")
    code, out, _ = run_cli(["runs", "--tenant", AG, "--json"], capsys)
    listed = json.loads(out)
    assert {row["tenant_id"] for row in listed} == {AG}
    assert run_id in {row["run_id"] for row in listed}


def test_runs_recover_marks_a_dead_process_run_failed(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    # A header left IN_PROGRESS by a process that died: nobody holds its run lock.
    stale = uuid.uuid4()
    with connect(pg_env) as conn:
        conn.execute(
            "insert into dyno_crm.report_run (run_id, tenant_id, report_type, status)"
            " values (%s, %s, 'deal_aging', 'IN_PROGRESS')",
            (stale, scenarios.AG_TENANT),
        )
        conn.commit()
    code, out, _ = run_cli(["runs", "--recover", "--tenant", AG], capsys)
    assert code == 0
    assert f"marked 1 stale runs FAILED\n  {stale}" in out
    [line] = [line for line in out.splitlines() if line.startswith(str(stale))]
    assert "FAILED" in line
    assert "stale run" in line


def test_show_of_an_unknown_run_fails_cleanly(
    pg_env: Env, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = uuid.uuid4()
    assert run_cli(["show", str(missing)], capsys) == (
        1,
        "",
        f"dyno-reports: no report run {missing}\n",
    )


BAD_ARGUMENTS = [
    (["win-loss", "--tenant", "nope", "--from", "2025-01-01", "--to", "2025-02-01"], "--tenant"),
    ([*WIN_LOSS[:-1], "2024-01-01"], "--to: must be after period_start"),
    ([*WIN_LOSS[:-1], "April"], "--to: is not a date or time"),
    ([*WIN_LOSS[:-1], "2025-04-01T00:00:00"], "--to: needs a UTC offset"),
    ([*WIN_LOSS, "--principal-type", "ROLE"], "--principal-type: invalid choice: 'ROLE'"),
    ([*WIN_LOSS, "--principal-type", "USER"], "--principal-id: is required when principal_type"),
    ([*WIN_LOSS, "--principal-id", WL], "--principal-type: is required when principal_id"),
    ([*WIN_LOSS, "--source", "x" * 201], "--source: is 201 characters"),
    ([*WIN_LOSS, "--source", "a\x00b"], "--source: must not contain NUL"),
    ([*WIN_LOSS, "--pipeline", "'; drop table dyno_crm.report_run; --"], "--pipeline: is not a"),
    ([*WIN_LOSS, "--stage", "1"], "--stage: is not a valid UUID"),
    (WIN_LOSS[:3], "the following arguments are required: --from, --to"),
    (["aging", "--tenant", AG], "the following arguments are required: --threshold-days"),
    (["aging", "--tenant", AG, "--threshold-days", "-1"], "--threshold-days: must be between"),
    (["aging", "--tenant", AG, "--threshold-days", "1e9"], "--threshold-days: must be a whole"),
    ([*AGING, "--cycle-threshold-days", "40000"], "--cycle-threshold-days: must be between"),
    ([*AGING, "--from", "2025-02-01", "--to", "2025-01-01"], "--to: must be after period_start"),
    ([*AGING, "--lock-timeout-ms", "0"], "--lock-timeout-ms: must be between 1 and"),
    ([*WIN_LOSS, "--statement-timeout-ms", "soon"], "--statement-timeout-ms: must be a whole"),
    (["runs", "--limit", "0"], "--limit: must be between 1 and"),
    (["runs", "--tenant", "x"], "--tenant: is not a valid UUID"),
    (["show", "42"], "RUN_ID: is not a valid UUID"),
    (["reports"], "invalid choice: 'reports'"),
    # Times the column could store but Python could not read back (issue 16).
    ([*WIN_LOSS[:-1], "9999-12-31T23:00:00-14:00"], "--to: 9999-12-31T23:00:00-14:00 is outside"),
    ([*WIN_LOSS[:-3], "0001-01-01T00:00:00+01:00", *WIN_LOSS[-2:]], "--from: 0001-01-01T00"),
    ([*AGING, "--to", "9999-12-31T23:59:59-00:01"], "--to: 9999-12-31T23:59:59-00:01 is outside"),
    # A shell argument that is not UTF-8 reaches Python as lone surrogates.
    ([*WIN_LOSS, "--source", "caf\udce9"], "--source: must be valid UTF-8 text"),
    ([*WIN_LOSS, "--source", "\ud800"], "--source: must be valid UTF-8 text"),
    # Digits 0-9 only: int() would read "1_4" as 14 and an Arabic-Indic three as 3.
    (["aging", "--tenant", AG, "--threshold-days", "1_4"], "--threshold-days: must be a whole"),
    (["aging", "--tenant", AG, "--threshold-days", "\u0663"], "--threshold-days: must be a whole"),
    ([*AGING, "--cycle-threshold-days", "\uff19\uff10"], "--cycle-threshold-days: must be a"),
    ([*AGING, "--lock-timeout-ms", "1_000"], "--lock-timeout-ms: must be a whole number in"),
    (["runs", "--limit", "1_0"], "--limit: must be a whole number in digits"),
    (["runs", "--tenant", "0" * 8 + "_" + "0" * 23], "--tenant: is not a valid UUID"),
    (["runs", "--tenant", "\u0660" * 32], "--tenant: is not a valid UUID"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_ARGUMENTS)
def test_a_bad_argument_is_one_line_naming_it_exit_2_nothing_written(
    pg_env: Env, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    before = report_run_count(pg_env)
    code, out, err = run_cli(argv, capsys)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1, err
    assert message in err
    assert report_run_count(pg_env) == before


def test_the_installed_command_exits_2_without_a_traceback() -> None:
    completed = subprocess.run(  # noqa: S603 - our own console script
        [str(Path(sys.executable).with_name("dyno-reports")), *AGING[:-1], "many"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("dyno-reports aging: error: argument --threshold-days:")
    assert "Traceback" not in completed.stderr


def test_an_unreachable_database_is_one_line_exit_1(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PGHOST", str(tmp_path))  # a socket folder with no server in it
    monkeypatch.setenv("PGPORT", "5")
    code, out, err = run_cli(["runs"], capsys)
    assert (code, out) == (1, "")
    assert err.startswith("dyno-reports: database error: connection ")
    assert str(tmp_path) in err
    assert err.count("\n") == 1


def test_a_database_without_the_models_is_one_line_exit_1(
    empty_database: Env, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    point_pg_at(monkeypatch, empty_database)
    code, _, err = run_cli(AGING, capsys)
    assert code == 1
    assert "run `dyno-reports build` first" in err
    assert err.count("\n") == 1
    with connect(empty_database) as conn:
        statuses = conn.execute("select distinct status from dyno_crm.report_run").fetchall()
    assert statuses == [("FAILED",)]


@pytest.mark.parametrize(
    "argv", [["runs"], ["runs", "--check"], ["runs", "--recover"], ["show", WL]]
)
def test_before_any_build_reading_runs_says_to_build_first(
    server_env: Env,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    env = create_database(server_env, "dyno_test_unbuilt")
    try:
        point_pg_at(monkeypatch, env)
        code, out, err = run_cli(argv, capsys)
    finally:
        drop_database(server_env, env)
    assert (code, out) == (1, "")
    assert err.startswith("dyno-reports: the report storage tables are missing")
    assert err.rstrip().endswith("run `dyno-reports build` first")
    assert err.count("\n") == 1


def test_build_runs_dbt_on_the_pg_database(pg_env: Env, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["build"], capsys)
    assert code == 0
    assert "Completed successfully" in out
    with connect(pg_env) as conn:
        row = conn.execute("select count(*) from dyno_crm_analytics.int_current_deals").fetchone()
    assert row is not None
    assert row[0] > 0
