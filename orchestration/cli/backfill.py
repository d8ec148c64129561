"""``dyno-reports backfill``: its arguments, and the command that prints a line per partition.

The partitions run through Dagster (``orchestration.defs.backfill``), imported only when the
command runs: loading Dagster and the dbt manifest takes seconds that ``--help`` and every
other command do not need.
"""

from __future__ import annotations

import argparse

from orchestration.db import connect
from orchestration.refresh.calendar import parse_month_range
from orchestration.refresh.tenants import discover_tenants


def add_backfill_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--report",
        required=True,
        choices=["win-loss"],
        help="the report to backfill (win/loss is the one with monthly partitions)",
    )
    parser.add_argument(
        "--months", required=True, help="YYYY-MM..YYYY-MM (both included) or one YYYY-MM"
    )
    parser.add_argument(
        "--tenant",
        action="append",
        default=[],
        metavar="TENANT_ID",
        help="a tenant id; repeat for several (default: every tenant with deals)",
    )


def backfill_command(args: argparse.Namespace) -> int:
    """Run the backfill ``args`` describe, printing a line per partition; exit status."""
    parse_month_range("--months", args.months)  # a typo is refused before Dagster loads
    from orchestration.defs import backfill  # noqa: PLC0415 - loads Dagster, see the docstring

    months = backfill.resolve_months(args.months)
    with connect() as conn:
        known = discover_tenants(conn)
    tenants = backfill.resolve_tenants(args.tenant, known)
    print(
        f"backfill of {len(months)} month(s) x {len(tenants)} tenant(s):"
        f" {len(months) * len(tenants)} runs of {backfill.MONTHLY_JOB}",
        flush=True,
    )
    outcomes = backfill.run_backfill(
        months, tenants, backfill.dagster_instance(), report=lambda o: print(o.line(), flush=True)
    )
    failed = sum(not outcome.succeeded for outcome in outcomes)
    print(f"{len(outcomes) - failed} of {len(outcomes)} partitions succeeded")
    return 1 if failed else 0
