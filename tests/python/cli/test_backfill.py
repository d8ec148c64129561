"""``dyno-reports backfill``: three tenants x three months from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from orchestration.cli.main import main
from orchestration.db import connect
from orchestration.defs.partitions import TENANTS_PARTITIONS_NAME
from orchestration.demo.sample_data import sample_tenants
from orchestration.demo.walkthrough import demo_until
from orchestration.refresh.calendar import month_bounds
from orchestration.refresh.config import load_refresh_settings
from orchestration.reports.parameters import WinLossParameters
from orchestration.reports.results import run_report
from orchestration.settings import PROJECT_DIR

from conftest import Env, create_demo_database, drop_database
from report_rows import facts

pytestmark = pytest.mark.dagster

# The zone the code location's month partitions follow (refresh.toml).
MONTH_ZONE = load_refresh_settings().zone

TENANTS = sorted(str(tenant.id) for tenant in sample_tenants())
FACT_COLUMNS = (
    "pipeline_id",
    "deals_closed_won_count",
    "deals_closed_lost_count",
    "total_amount_won",
    "total_amount_lost",
    "win_rate",
)


def last_complete_months(count: int) -> list[date]:
    """The ``count`` complete months before today, inside the demo's year of deals."""
    month = demo_until().astimezone(MONTH_ZONE).date().replace(day=1)
    months: list[date] = []
    for _ in range(count):
        month = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
        months.insert(0, month)
    return months


def run_console_script(
    name: str, args: list[str], env: Env, dagster_home: Path
) -> subprocess.CompletedProcess[str]:
    """Our virtualenv's command ``name`` on the demo database, Dagster's state in the folder."""
    return subprocess.run(  # noqa: S603 - our own virtualenv's command, fixed arguments
        [str(Path(sys.executable).with_name(name)), *args],
        cwd=PROJECT_DIR,
        env={**os.environ, **env, "DAGSTER_HOME": str(dagster_home)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_env(server_env: Env) -> Iterator[Env]:
    env = create_demo_database(server_env, "dyno_test_backfill")
    yield env
    drop_database(server_env, env)


def test_three_tenants_by_three_months_from_the_command_line(demo_env: Env, tmp_path: Path) -> None:
    months = last_complete_months(3)
    (tmp_path / "dagster.yaml").touch()
    completed = run_console_script(
        "dyno-reports",
        ["backfill", "--report", "win-loss", "--months", f"{months[0]:%Y-%m}..{months[-1]:%Y-%m}"],
        demo_env,
        tmp_path,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == (
        "backfill of 3 month(s) x 3 tenant(s): 9 runs of tenant_deal_win_loss_monthly_job"
    )
    assert lines[-1] == "9 of 9 partitions succeeded"
    assert sorted((line.split()[0], line.split()[1], line.split()[2]) for line in lines[1:-1]) == (
        sorted((f"{month:%Y-%m}", tenant, "SUCCESS") for month in months for tenant in TENANTS)
    )

    # Dagster recorded the runs in $DAGSTER_HOME: the UI shows each partition materialised.
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        runs = instance.get_runs(dg.RunsFilter(job_name="tenant_deal_win_loss_monthly_job"))
        assert len(runs) == 9
        assert {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
        materialized = instance.get_materialized_partitions(
            dg.AssetKey("tenant_deal_win_loss_monthly")
        )
        assert materialized == {
            f"{month.isoformat()}|{tenant}" for month in months for tenant in TENANTS
        }
        dagster_runs = {run.run_id for run in runs}
    finally:
        instance.dispose()

    # Each partition stored one win/loss run over its calendar month, with the same facts
    # as the report API gives for that period.
    with connect(demo_env) as conn, conn.transaction():
        headers = conn.execute(
            "select run_id, tenant_id::text, period_start, period_end, status, dagster_run_id"
            " from dyno_crm.report_run where dagster_run_id = any(%s)",
            (list(dagster_runs),),
        ).fetchall()
    assert sorted((h[1], h[2], h[3], h[4]) for h in headers) == sorted(
        (tenant, *month_bounds(month, MONTH_ZONE), "SUCCEEDED")
        for month in months
        for tenant in TENANTS
    )
    assert {h[5] for h in headers} == dagster_runs
    total_closed = 0
    with connect(demo_env) as conn:
        for run_id, tenant, start, end, _, _ in headers:
            expected = run_report(
                conn,
                WinLossParameters.validate(tenant_id=tenant, period_start=start, period_end=end),
            )
            got = facts(conn, run_id)
            assert sorted(str([row[c] for c in FACT_COLUMNS]) for row in got) == sorted(
                str([row[c] for c in FACT_COLUMNS]) for row in expected.facts
            )
            total_closed += sum(
                row["deals_closed_won_count"] + row["deals_closed_lost_count"] for row in got
            )
    assert total_closed > 0  # the sample year closes deals every month


def test_every_tenant_both_standard_reports_in_one_dagster_run(
    demo_env: Env, tmp_path: Path
) -> None:
    """A backfill over a range of tenant partitions is one run (single-run backfill policy)."""
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        # What tenant_discovery_sensor does, in the order the range follows.
        instance.add_dynamic_partitions(TENANTS_PARTITIONS_NAME, TENANTS)
    completed = run_console_script(
        "dagster",
        [
            "asset",
            "materialize",
            "-m",
            "orchestration.definitions",
            "--select",
            "tenant_deal_win_loss,tenant_deal_aging",
            "--partition-range",
            f"{TENANTS[0]}...{TENANTS[-1]}",
        ],
        demo_env,
        tmp_path,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr

    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        [run] = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.SUCCESS
        for asset in ("tenant_deal_win_loss", "tenant_deal_aging"):
            assert instance.get_materialized_partitions(dg.AssetKey(asset)) == set(TENANTS)
    with connect(demo_env) as conn, conn.transaction():
        headers = conn.execute(
            "select tenant_id::text, report_type, status from dyno_crm.report_run"
            " where dagster_run_id = %s",
            (run.run_id,),
        ).fetchall()
    # Per tenant: win/loss of the previous day, week and month, and aging.
    assert sorted(headers) == sorted(
        (tenant, report, "SUCCEEDED")
        for tenant in TENANTS
        for report in ("deal_aging", "deal_win_loss", "deal_win_loss", "deal_win_loss")
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--months", "2025-13"], "argument --months: '2025-13' is not a month written YYYY-MM"),
        (["--months", "2025-03..2025-01"], "argument --months: the range"),
        (["--months", "1999-01"], "argument --months: 1999-01 has no partition"),
        (["--months", "2025-01", "--tenant", "acme"], "argument --tenant: is not a valid UUID"),
        (
            ["--months", "2025-01", "--tenant", "00000000-0000-4000-8000-000000000000"],
            "argument --tenant: 00000000-0000-4000-8000-000000000000 has no deals",
        ),
    ],
)
def test_bad_backfill_arguments_exit_2_naming_the_option(
    demo_env: Env,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    for key, value in demo_env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit) as exit_info:
        main(["backfill", "--report", "win-loss", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
