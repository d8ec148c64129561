"""The demo end to end on a fresh database of the test server, and the example run configs."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from orchestration.cli.main import main
from orchestration.db import connect
from orchestration.definitions import defs
from orchestration.defs.report_configs import AgingReportConfig, WinLossReportConfig
from orchestration.demo.sample_data import sample_tenants
from orchestration.demo.walkthrough import DemoOutcome, run_demo
from orchestration.reports.results import run_report
from orchestration.settings import PROJECT_DIR

from conftest import Env, create_database, drop_database, point_pg_at
from report_rows import facts, header

pytestmark = pytest.mark.dagster

# A fixed end for the sample year, inside the example files' period (calendar 2026).
UNTIL = datetime(2026, 12, 1, tzinfo=UTC)
EXAMPLES = PROJECT_DIR / "examples"


@pytest.fixture(scope="module")
def demo(server_env: Env) -> Iterator[tuple[DemoOutcome, str]]:
    env = create_database(server_env, "dyno_test_demo")
    out = io.StringIO()
    try:
        outcome = run_demo(env, until=UNTIL, instance=dg.DagsterInstance.ephemeral(), out=out)
        yield outcome, out.getvalue()
    finally:
        drop_database(server_env, env)


def source_counts(env: Env) -> tuple[Any, ...]:
    with connect(env) as conn:
        row = conn.execute(
            "select (select count(*) from dyno_crm.deal),"
            " (select count(*) from dyno_crm.deal_pipeline_stage_state)"
        ).fetchone()
    assert row is not None
    return tuple(row)


def test_every_tenant_has_both_reports_succeeded_with_rows(demo: tuple[DemoOutcome, str]) -> None:
    outcome, _ = demo
    assert outcome.rows_loaded > 0
    assert [reports.tenant for reports in outcome.tenants] == sample_tenants()
    with connect(outcome.environ) as conn:
        for reports in outcome.tenants:
            for run, report_type in (
                (reports.win_loss, "deal_win_loss"),
                (reports.aging, "deal_aging"),
            ):
                stored = header(conn, run.run_id)
                assert stored["status"] == "SUCCEEDED"
                assert stored["report_type"] == report_type
                assert stored["tenant_id"] == reports.tenant.id
                assert len(facts(conn, run.run_id)) == len(run.facts) > 0


def test_the_output_shows_both_reports_per_tenant_and_how_to_open_dagster(
    demo: tuple[DemoOutcome, str],
) -> None:
    outcome, text = demo
    for reports in outcome.tenants:
        assert f"=== {reports.tenant.name}" in text
        assert f"Deal Win/Loss: run {reports.win_loss.run_id} SUCCEEDED" in text
        assert f"Deal Aging / At-Risk: run {reports.aging.run_id} SUCCEEDED" in text
    assert "win rate" in text
    assert "median days" in text
    assert f"PGDATABASE={outcome.environ['PGDATABASE']}" in text
    assert "dagster dev" in text


def test_running_the_demo_again_loads_nothing_twice(demo: tuple[DemoOutcome, str]) -> None:
    outcome, _ = demo
    before = source_counts(outcome.environ)
    again = run_demo(
        outcome.environ, until=UNTIL, instance=dg.DagsterInstance.ephemeral(), out=io.StringIO()
    )
    assert again.rows_loaded == 0
    assert source_counts(outcome.environ) == before
    assert len(again.tenants) == 3
    for first, second in zip(outcome.tenants, again.tenants, strict=True):
        assert second.win_loss.run_id != first.win_loss.run_id
        assert second.win_loss.facts == [
            {**row, "run_id": second.win_loss.run_id} for row in first.win_loss.facts
        ]


def example_config(name: str) -> dict[str, Any]:
    document = dg.config_from_files([str(EXAMPLES / name)])
    [(_, op)] = document["ops"].items()
    config: dict[str, Any] = op["config"]
    return config


def test_the_win_loss_example_runs_with_dagster_job_execute(
    demo: tuple[DemoOutcome, str], tmp_path: Path
) -> None:
    outcome, _ = demo
    env = {**os.environ, **outcome.environ, "DAGSTER_HOME": str(tmp_path)}
    completed = subprocess.run(  # noqa: S603 - our own venv's dagster, fixed arguments
        [
            str(Path(sys.executable).with_name("dagster")),
            "job",
            "execute",
            "-m",
            "orchestration.definitions",
            "-j",
            "deal_win_loss_report_job",
            "-c",
            str(EXAMPLES / "win_loss.yaml"),
        ],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    params = WinLossReportConfig(**example_config("win_loss.yaml")).parameters()
    with connect(outcome.environ) as conn:
        row = conn.execute(
            "select run_id from dyno_crm.report_run where tenant_id = %s"
            " and report_type = 'deal_win_loss' and input_params ->> 'source' = %s"
            " order by generated_at desc limit 1",
            (params.tenant_id, params.source),
        ).fetchone()
        conn.rollback()
        assert row is not None, "dagster job execute stored no run"
        assert header(conn, row[0])["status"] == "SUCCEEDED"
        expected = run_report(conn, params)
        assert facts(conn, row[0]) == facts(conn, expected.run_id)
        assert expected.facts, "the example's period holds closed deals of the sample year"


def test_the_aging_example_materialises_in_process(
    demo: tuple[DemoOutcome, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    outcome, _ = demo
    point_pg_at(monkeypatch, outcome.environ)
    run_config = dg.config_from_files([str(EXAMPLES / "aging.yaml")])
    result = defs.resolve_job_def("deal_aging_report_job").execute_in_process(
        run_config=run_config, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    [event] = result.asset_materializations_for_node("deal_aging_report")
    assert int(str(event.metadata["fact_rows"].value)) > 0
    AgingReportConfig(**example_config("aging.yaml")).parameters()  # valid as written


def test_runs_check_passes_on_the_demo_and_flags_a_stuck_run_until_recovered(
    demo: tuple[DemoOutcome, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    outcome, _ = demo
    point_pg_at(monkeypatch, outcome.environ)
    assert main(["runs", "--check", "--limit", "1"]) == 0
    assert "check: " in capsys.readouterr().out
    # A header a killed process left behind: nobody holds its run lock.
    stuck = uuid.uuid4()
    with connect(outcome.environ) as conn:
        conn.execute(
            "insert into dyno_crm.report_run (run_id, tenant_id, report_type, status)"
            " values (%s, %s, 'deal_aging', 'IN_PROGRESS')",
            (stuck, outcome.tenants[0].tenant.id),
        )
        conn.commit()
    assert main(["runs", "--check", "--limit", "1"]) == 1
    assert "check: PROBLEM: 1 IN_PROGRESS runs whose process is gone" in capsys.readouterr().out
    assert main(["runs", "--recover", "--check", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert f"marked 1 stale runs FAILED\n  {stuck}  deal_aging" in out
    assert "PROBLEM" not in out
