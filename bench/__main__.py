"""``python -m bench`` (``make bench``): generate scale data, build, time, check, print.

Uses the ``PG*`` server (or, without ``PGHOST``, an embedded one in ``.dyno/pgdata-bench``)
and its database ``dyno_bench`` (``--database``), which it creates if missing and leaves in
place: a later run with the same seed and scale reuses the data.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import sql

from bench.all_tenants import time_all_tenants
from bench.cases import Case, all_cases
from bench.dagster_runs import time_dagster_runs
from bench.data import DEFAULT_SEED, SCALES, Dataset, ensure_dataset
from bench.explain import explain_facts, explain_floor
from bench.measure import peak_rss_mib, timed_once
from bench.runner import CaseResult, clear_deals, create_floor_table, run_case
from bench.table import render
from orchestration.db import connect
from orchestration.demo.embedded_postgres import start_embedded_postgres
from orchestration.settings import PROJECT_DIR, pg_environment
from orchestration.warehouse.dbt_cli import run_dbt
from orchestration.warehouse.storage import ensure_report_storage

DEFAULT_DATABASE = "dyno_bench"
# The cases whose plans docs/performance.md shows.
EXPLAINED = (
    ("win_loss", "large", "quarter"),
    ("aging", "large", "quarter"),
    ("aging", "large", "all open, no period"),
    ("win_loss", "large", "quarter, with deals"),
    ("aging", "large", "quarter, with deals"),
    ("aging", "large", "all open, no period, with deals"),
)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--scale", choices=sorted(SCALES), default="full")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per case (median)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--seed-sql-limit-s",
        type=float,
        default=10.0,
        help="time limit of each run of the seeds' SQL; 0 skips it (and the checks)",
    )
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--explain", action="store_true", help="print the headline plans")
    parser.add_argument(
        "--cases",
        action="append",
        metavar="TEXT",
        help="only the cases whose name ('<report> <tenant> <label>') contains TEXT"
        " (repeatable); skips the all-tenant and Dagster runs",
    )
    parser.add_argument(
        "--no-dbt",
        action="store_true",
        help="skip dbt run and dbt test (the models must be built already)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat: must be at least 1")
    if args.seed_sql_limit_s < 0:
        parser.error("--seed-sql-limit-s: must not be negative")
    return args


def server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    if environ.get("PGHOST"):
        return pg_environment(environ)
    return start_embedded_postgres(PROJECT_DIR / ".dyno" / "pgdata-bench", keep_running=False)


def ensure_database(server: Mapping[str, str], name: str) -> dict[str, str]:
    with connect(server, autocommit=True) as admin:
        exists = admin.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if not exists:
            admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return {**server, "PGDATABASE": name}


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = parse_args(argv)
    env = ensure_database(
        server_environment(os.environ if environ is None else environ), args.database
    )
    dataset = Dataset(args.scale, args.seed)
    with connect(env) as conn:
        version = conn.execute("show server_version").fetchone()
        conn.rollback()
        generation = ensure_dataset(conn, dataset)
        ensure_report_storage(conn)
        with conn.transaction():
            conn.execute("truncate dyno_crm.report_run cascade")
        clear_deals(conn)  # no foreign key to report_run: not truncated by the cascade
    print(
        f"# scale {args.scale}, seed {args.seed}: {generation.deals:,} deals,"
        f" {generation.stage_rows:,} stage rows"
        f" ({'reused' if generation.reused else 'generated'} in {generation.seconds:.1f} s)"
    )
    print(
        f"# PostgreSQL {version[0] if version else '?'} in database {env['PGDATABASE']!r};"
        f" {os.cpu_count()} CPUs, {platform.platform()}; load average {load_average()}"
    )
    if args.no_dbt:
        print("# dbt run and dbt test: skipped (--no-dbt)")
    else:
        dbt_run_s = timed_once(lambda: run_dbt(["run"], environ=env))
        dbt_test_s = timed_once(lambda: run_dbt(["test"], environ=env))
        print(f"# dbt run (models, full rebuild): {dbt_run_s:.1f} s; dbt test: {dbt_test_s:.1f} s")

    limit = args.seed_sql_limit_s or None
    cases = [
        case
        for case in all_cases(dataset)
        if not args.cases or any(text in case.name for text in args.cases)
    ]
    results: list[CaseResult] = []
    dagster_failed = False
    with connect(env) as conn:
        create_floor_table(conn)
        for case in cases:
            results.append(run_case(conn, case, repeat=args.repeat, seed_limit_s=limit))
            print(f"#   {case.name}: {results[-1].project.median_ms:.1f} ms", file=sys.stderr)
        # The table first: a failure of the runs below must not lose it.
        print()
        print(render(results))
        print(f"# load average after the cases: {load_average()}", flush=True)
        if args.explain:
            print_plans(conn, results)
        print(flush=True)
        if not args.cases:
            for deals in (False, True):
                print(f"# {time_all_tenants(conn, dataset, store_deals=deals)}", flush=True)
            try:
                dagster = time_dagster_runs(env, dataset)
            except Exception as error:  # reported, and the command fails
                dagster_failed = True
                print(f"# Dagster runs FAILED: {type(error).__name__}: {error}")
            else:
                print(f"# {dagster or 'Dagster: no report assets in this checkout, not measured'}")
            clear_deals(conn)
        print(f"# peak RSS of this process: {peak_rss_mib():.0f} MiB")
    failed = [result.case.name for result in results if result.check == "DIFFERENT"]
    if failed:
        print(f"# facts differ from the seeds' SQL: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 1 if dagster_failed else 0


def load_average() -> str:
    return " ".join(f"{load:.2f}" for load in os.getloadavg())


def print_plans(conn: psycopg.Connection[Any], results: Sequence[CaseResult]) -> None:
    cases: dict[tuple[str, str, str], Case] = {
        (r.case.report, r.case.tenant, r.case.label): r.case for r in results
    }
    for key in EXPLAINED:
        case = cases.get(key)
        if case is None:  # not among the --cases
            continue
        print(f"\n## {case.name}: facts statement\n")
        print(explain_facts(conn, case))
        print(f"\n## {case.name}: floor\n")
        print(explain_floor(conn, case))


if __name__ == "__main__":
    sys.exit(main())
