"""Builds and reports never in each other's way: report processes run in a loop while
``dyno-reports build`` runs twice at once and the Dagster dbt build job runs after them.
Every build succeeds (the second CLI build waits for the first, saying so), no report
raises, nothing is left stuck or orphaned, and every run has its quiet-time facts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg
import pytest

from orchestration.db import connect
from orchestration.defs.definitions import defs
from orchestration.reports import run_deal_aging_report, run_deal_win_loss_report
from orchestration.settings import PROJECT_DIR
from orchestration.warehouse.build_lock import build_lock

from conftest import Env
from report_rows import facts
from robustness_figures import FIGURES
from scenarios import AG_AS_OF, AG_TENANT, Q1_END, Q1_START, WL_TENANT

pytestmark = [pytest.mark.dagster, pytest.mark.slow]

Conn = psycopg.Connection[Any]
WORKERS = 4

# One report process: both reports in turn until the stop file appears; its run ids (by
# report) and any error, as JSON on stdout.
WORKER = """
import json, pathlib, sys, uuid
from datetime import datetime
from orchestration.db import connect
from orchestration.reports import run_deal_aging_report, run_deal_win_loss_report
stop = pathlib.Path(sys.argv[1])
win_loss = (uuid.UUID(sys.argv[2]), datetime.fromisoformat(sys.argv[3]),
            datetime.fromisoformat(sys.argv[4]))
aging = (uuid.UUID(sys.argv[5]), datetime.fromisoformat(sys.argv[6]))
runs = {"win_loss": [], "aging": []}
errors = []
with connect() as conn:
    while not stop.exists():
        try:
            runs["win_loss"].append(str(run_deal_win_loss_report(conn, *win_loss)))
            runs["aging"].append(
                str(run_deal_aging_report(conn, aging[0], 10, 30, period_end=aging[1]))
            )
        except Exception as error:
            errors.append(f"{type(error).__name__}: {error}")
            break
print(json.dumps({"runs": runs, "errors": errors}))
"""


def cli_build(env: Env) -> subprocess.Popen[str]:
    return subprocess.Popen(  # noqa: S603 - our virtualenv's console script
        [str(Path(sys.executable).with_name("dyno-reports")), "build"],
        cwd=PROJECT_DIR,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_reports_in_a_loop_while_builds_of_both_kinds_run(
    conn: Conn, pg_env: Env, tmp_path: Path
) -> None:
    quiet = {
        "win_loss": facts(conn, run_deal_win_loss_report(conn, WL_TENANT, Q1_START, Q1_END)),
        "aging": facts(conn, run_deal_aging_report(conn, AG_TENANT, 10, 30, period_end=AG_AS_OF)),
    }
    assert all(quiet.values())
    stop = tmp_path / "stop"
    workers = [
        subprocess.Popen(  # noqa: S603 - this interpreter, our own script
            [
                sys.executable,
                "-c",
                WORKER,
                str(stop),
                str(WL_TENANT),
                Q1_START.isoformat(),
                Q1_END.isoformat(),
                str(AG_TENANT),
                AG_AS_OF.isoformat(),
            ],
            cwd=PROJECT_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    try:
        # Two CLI builds at once: the second waits for the first, and says which it waits for.
        first, second = cli_build(pg_env), cli_build(pg_env)
        outcomes = [(build.wait(timeout=600), *build.communicate()) for build in (first, second)]
        result = defs.resolve_job_def("dbt_build_job").execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )
    finally:
        stop.touch()
        reports = [json.loads(worker.communicate(timeout=120)[0]) for worker in workers]

    for code, out, err in outcomes:
        assert code == 0, err
        assert "Completed successfully" in out
    assert sum("another build is running" in err for _, _, err in outcomes) == 1, outcomes
    assert result.success
    errors = [error for report in reports for error in report["errors"]]
    runs = {kind: [run for report in reports for run in report["runs"][kind]] for kind in quiet}
    FIGURES.add(
        runs_attempted=sum(map(len, runs.values())) + len(errors),
        runs_succeeded=sum(map(len, runs.values())),
    )
    assert not errors, errors
    assert min(map(len, runs.values())) >= WORKERS  # the reports did run during the builds
    for kind, run_ids in runs.items():
        for run_id in run_ids:
            actual = facts(conn, run_id)
            FIGURES.compare_facts(quiet[kind], actual)
            assert actual == quiet[kind], kind
    assert FIGURES.audit(conn).ok


def wait_for_build_lock(conn: Conn, said: list[str]) -> None:
    with build_lock(conn, said.append):
        pass


def test_a_second_build_lock_waits_and_names_the_holder(built_env: Env) -> None:
    said: list[str] = []
    with (
        connect(built_env, application_name="first-build") as holder,
        build_lock(holder),
        connect(built_env) as other,
    ):
        # The wait is bounded by no lock_timeout (a build waits for the other build);
        # this test cannot wait for itself: it reads the announcement, then gives up.
        other.execute("set lock_timeout = 500")
        other.execute("set statement_timeout = 1000")
        other.commit()
        with pytest.raises(psycopg.errors.QueryCanceled):
            wait_for_build_lock(other, said)
    assert len(said) == 1
    assert "another build is running in backend" in said[0]
    assert "first-build" in said[0]
