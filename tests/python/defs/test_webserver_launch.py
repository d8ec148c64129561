"""The UI path: a real ``dagster dev`` (webserver, daemon, code server) driven through its
GraphQL API as the launchpad does, against a temporary DAGSTER_HOME."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from orchestration.db import connect
from orchestration.defs.partitions import TENANTS_PARTITIONS_NAME
from orchestration.reports.dagster_runs import headers_of_dagster_run
from orchestration.reports.parameters import WinLossParameters
from orchestration.reports.results import run_report

from conftest import Env
from dagster_ui import dagster_dev
from report_rows import facts
from scenarios import Q1_END, Q1_START, WL_TENANT

pytestmark = pytest.mark.dagster

WIN_LOSS_CONFIG = {
    "tenant_id": str(WL_TENANT),
    "period_start": Q1_START.isoformat(),
    "period_end": Q1_END.isoformat(),
}
STARTUP_TIMEOUT_S = 300
RUN_TIMEOUT_S = 300


def test_a_report_job_launched_through_graphql_runs_and_stores_its_facts(
    built_env: Env, tmp_path: Path
) -> None:
    """What the launchpad does: launchRun with run config, then poll the run's status."""
    with dagster_dev(built_env, tmp_path) as ui:
        jobs = ui.wait_until_loaded(STARTUP_TIMEOUT_S)
        assert "dyno_crm_reports" in jobs, jobs
        location_jobs = set(jobs["dyno_crm_reports"])
        assert {
            "deal_win_loss_report_job",
            "dbt_build_job",
            "tenant_deal_win_loss_job",
            "tenant_deal_win_loss_monthly_job",
        } <= location_jobs
        run_id = ui.launch_run(
            "dyno_crm_reports",
            "deal_win_loss_report_job",
            {
                "ops": {"deal_win_loss_report": {"config": WIN_LOSS_CONFIG}},
                # The launchpad's executor choice: steps in the run's own process, which
                # spares the test a second interpreter loading the code location.
                "execution": {"config": {"in_process": {}}},
            },
        )
        status = ui.wait_for_run(run_id, RUN_TIMEOUT_S)
        assert status == "SUCCESS", ui.log_tail()

        # A backfill from the UI of both standard report assets over every tenant partition
        # (the discovery sensor may have added more than these two): the daemon runs it as
        # one run, the partitions being one contiguous range (single-run backfill policy).
        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
            instance.add_dynamic_partitions(TENANTS_PARTITIONS_NAME, [str(WL_TENANT)])
            tenants = list(instance.get_dynamic_partitions(TENANTS_PARTITIONS_NAME))
        backfill_id = ui.launch_backfill(["tenant_deal_win_loss", "tenant_deal_aging"], tenants)
        backfill = ui.wait_for_backfill(backfill_id, RUN_TIMEOUT_S)
        assert backfill["status"] in {"COMPLETED", "COMPLETED_SUCCESS"}, ui.log_tail()
        [backfill_run] = backfill["runs"]
        assert backfill_run["status"] == "SUCCESS", ui.log_tail()
    with connect(built_env) as conn:
        backfill_headers = headers_of_dagster_run(conn, backfill_run["runId"])
    # Per tenant: win/loss of the previous day, week and month, and aging.
    assert sorted((kind, status) for _, kind, status in backfill_headers) == sorted(
        [("deal_aging", "SUCCEEDED")] * len(tenants)
        + [("deal_win_loss", "SUCCEEDED")] * 3 * len(tenants)
    )
    with connect(built_env) as conn:
        [(report_run, report_status)] = [
            (header, status) for header, _, status in headers_of_dagster_run(conn, run_id)
        ]
        assert report_status == "SUCCEEDED"
        stored = facts(conn, report_run)
        expected = run_report(
            conn,
            WinLossParameters.validate(
                tenant_id=WL_TENANT, period_start=Q1_START, period_end=Q1_END
            ),
        )
        assert stored
        assert stored == facts(conn, expected.run_id)
