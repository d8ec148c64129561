"""``dyno-reports demo``: sample data, build, both reports through Dagster, for every tenant.

Without ``PGHOST`` it starts the embedded PostgreSQL in ``.dyno/pgdata`` and leaves it
running, so that ``dagster dev`` and the CLI can open the same data afterwards; with
``PGHOST`` it uses that server. Running it again reuses the data already loaded.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, TextIO

import dagster as dg

from orchestration.db import connect
from orchestration.defs.report_assets import deal_aging_report, deal_win_loss_report
from orchestration.defs.resources import PostgresResource
from orchestration.demo.embedded_postgres import DEMO_DATA_DIR, start_embedded_postgres
from orchestration.demo.sample_data import (
    DAYS,
    SAMPLE_SEED,
    SampleTenant,
    load_sample_data,
    sample_tenants,
)
from orchestration.present.text import result_text
from orchestration.reports.results import ReportResult, load_result
from orchestration.settings import PROJECT_DIR, pg_environment
from orchestration.warehouse.build import build_reports_database, ensure_source_tables
from orchestration.warehouse.storage import ensure_report_storage

DEMO_DAGSTER_HOME = PROJECT_DIR / ".dyno" / "dagster_home"
AGING_THRESHOLD_DAYS = 14
AGING_CYCLE_THRESHOLD_DAYS = 90


@dataclass
class TenantReports:
    tenant: SampleTenant
    win_loss: ReportResult
    aging: ReportResult


@dataclass
class DemoOutcome:
    environ: dict[str, str]
    rows_loaded: int
    tenants: list[TenantReports] = field(default_factory=list)


def demo_until(now: datetime | None = None) -> datetime:
    """The end of the sample year: the start of the current UTC day."""
    day = (now or datetime.now(UTC)).astimezone(UTC).date()
    return datetime.combine(day, time(), tzinfo=UTC)


def win_loss_config(tenant: SampleTenant, until: datetime) -> dict[str, Any]:
    """The sample year (365 days to ``until``), unfiltered."""
    return {
        "tenant_id": str(tenant.id),
        "period_start": (until - timedelta(days=DAYS)).isoformat(),
        "period_end": until.isoformat(),
    }


def aging_config(tenant: SampleTenant, until: datetime) -> dict[str, Any]:
    """Open deals as of the end of the sample year."""
    return {
        "tenant_id": str(tenant.id),
        "threshold_days": AGING_THRESHOLD_DAYS,
        "cycle_threshold_days": AGING_CYCLE_THRESHOLD_DAYS,
        "period_end": until.isoformat(),
    }


def demo_environment(out: TextIO) -> tuple[dict[str, str], bool]:
    """The ``PG*`` server to use, and whether it is the embedded one.

    The user's when ``PGHOST`` is set, else the embedded server (started if need be).
    """
    if os.environ.get("PGHOST"):
        env = pg_environment()
        print(f"Using the PostgreSQL server in PGHOST ({env['PGHOST']}).", file=out)
        return env, False
    print(f"Starting the embedded PostgreSQL in {DEMO_DATA_DIR} ...", file=out)
    return start_embedded_postgres(DEMO_DATA_DIR, keep_running=True), True


def prepare_database(env: Mapping[str, str], until: datetime, seed: int) -> int:
    """Source tables (only when the database has none), report storage, sample data."""
    with connect(env) as conn:
        ensure_source_tables(conn)
        ensure_report_storage(conn)
        return load_sample_data(conn, until=until, seed=seed)


def materialize_reports(
    env: Mapping[str, str],
    tenant: SampleTenant,
    until: datetime,
    instance: dg.DagsterInstance,
) -> TenantReports:
    """Both report assets for one tenant, in one in-process Dagster run."""
    result = dg.materialize(
        [deal_win_loss_report, deal_aging_report],
        # Dagster's step-by-step log would bury the reports; warnings and errors still show.
        run_config={
            "ops": {
                "deal_win_loss_report": {"config": win_loss_config(tenant, until)},
                "deal_aging_report": {"config": aging_config(tenant, until)},
            },
            "loggers": {"console": {"config": {"log_level": "WARNING"}}},
        },
        resources={"postgres": PostgresResource.from_environment(env)},
        instance=instance,
        tags={"dyno/demo_tenant": tenant.name},
    )
    runs = {}
    with connect(env) as conn:
        for asset in ("deal_win_loss_report", "deal_aging_report"):
            [event] = result.asset_materializations_for_node(asset)
            run = load_result(conn, _run_id(event))
            assert run is not None
            runs[asset] = run
    return TenantReports(tenant, runs["deal_win_loss_report"], runs["deal_aging_report"])


def _run_id(event: dg.AssetMaterialization) -> uuid.UUID:
    return uuid.UUID(str(event.metadata["run_id"].value))


def demo_instance(home: Path = DEMO_DAGSTER_HOME) -> dg.DagsterInstance:
    """A persistent Dagster instance, so that `dagster dev` shows the demo's runs."""
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        # A demo should print its reports, not Dagster's telemetry notice; users who keep
        # this instance can turn it back on here.
        settings.write_text("telemetry:\n  enabled: false\n")
    return dg.DagsterInstance.from_config(str(home))


def run_demo(
    environ: Mapping[str, str] | None = None,
    *,
    until: datetime | None = None,
    seed: int = SAMPLE_SEED,
    instance: dg.DagsterInstance | None = None,
    out: TextIO = sys.stdout,
) -> DemoOutcome:
    """The whole demo; ``environ`` (a ``PG*`` mapping) skips choosing the server."""
    env, embedded = (dict(environ), False) if environ is not None else demo_environment(out)
    end = until or demo_until()
    loaded = prepare_database(env, end, seed)
    if loaded:
        print(
            f"Loaded {loaded} rows of sample CRM data (3 tenants, a year to {end:%Y-%m-%d}).",
            file=out,
        )
    else:
        print("The sample CRM data is already loaded.", file=out)
    print("Building: report storage and dbt build (models and their tests) ...", file=out)
    print(_dbt_summary(build_reports_database(env)), file=out)
    outcome = DemoOutcome(environ=env, rows_loaded=loaded)
    dagster_instance = instance or demo_instance()
    for tenant in sample_tenants(seed):
        reports = materialize_reports(env, tenant, end, dagster_instance)
        outcome.tenants.append(reports)
        print_tenant_reports(reports, out)
    print_next_steps(env, out, embedded=embedded)
    return outcome


def _dbt_summary(output: str) -> str:
    match = re.search(r"Done\. PASS=\d+ WARN=\d+ ERROR=\d+ SKIP=\d+.*TOTAL=\d+", output)
    return f"dbt build: {match.group(0)}" if match else "dbt build: done"


def print_tenant_reports(reports: TenantReports, out: TextIO) -> None:
    print(f"\n=== {reports.tenant.name}", file=out)
    for run in (reports.win_loss, reports.aging):
        print(f"\n{result_text(run)}", file=out)


def print_next_steps(env: Mapping[str, str], out: TextIO, *, embedded: bool) -> None:
    pg = " ".join(f"{key}={shlex.quote(env[key])}" for key in ("PGHOST", "PGPORT", "PGDATABASE"))
    home = shlex.quote(str(DEMO_DAGSTER_HOME))
    lines = [
        "",
        "Open the same data in Dagster (the runs above are in its history):",
        f"  {pg} DAGSTER_HOME={home} .venv/bin/dagster dev",
        "then http://127.0.0.1:3000. The command line works on it too:",
        f"  {pg} .venv/bin/dyno-reports runs",
    ]
    if embedded:
        lines += [
            "The embedded PostgreSQL keeps running for that; stop it (the data stays) with:",
            "  .venv/bin/dyno-reports demo --stop",
        ]
    print("\n".join(lines), file=out)
