"""The ``dyno-reports`` command.

Exit codes: 0 done; 1 the database, dbt or a run failed (one line on stderr); 2 a bad
argument (one line naming it, nothing written). Never a traceback for either.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, Final

import psycopg

from orchestration.cli.backfill import backfill_command
from orchestration.cli.parser import EXIT_USAGE, OPTION_FOR_FIELD, PROG, build_parser
from orchestration.db import connect
from orchestration.demo.embedded_postgres import DEMO_DATA_DIR, stop_embedded_postgres
from orchestration.demo.sample_data import SampleDataError
from orchestration.present.columns import RUN_COLUMNS, TENANT_COLUMNS, shown
from orchestration.present.deal_listing import (
    write_deals_csv,
    write_deals_json,
    write_deals_text,
)
from orchestration.present.json_rows import json_row, result_json
from orchestration.present.text import result_text, text_table
from orchestration.refresh.config import load_refresh_settings
from orchestration.reports import ReportInputError, ReportRunError, recover_stale_run_details
from orchestration.reports.audit import audit_report_runs
from orchestration.reports.parameters import (
    AgingParameters,
    ReportParameters,
    RunLimits,
    WinLossParameters,
)
from orchestration.reports.results import ReportResult, load_result, run_report
from orchestration.reports.retention import prune_run_deals
from orchestration.reports.run_deals import iter_run_deals
from orchestration.reports.stored_runs import recent_runs, run_header
from orchestration.reports.tenant_summaries import tenant_summaries
from orchestration.warehouse.build import BuildError, build_reports_database
from orchestration.warehouse.dbt_cli import DbtCommandError

EXIT_FAILED: Final = 1


def report_parameters(args: argparse.Namespace) -> ReportParameters:
    """The run's validated parameters; cross-option rules are checked here."""
    common: dict[str, Any] = {
        "tenant_id": args.tenant,
        "period_start": args.period_start,
        "period_end": args.period_end,
        "pipeline_id": args.pipeline,
        "principal_type": args.principal_type,
        "principal_id": args.principal_id,
        "stage_id": args.stage,
    }
    common["breakdown"] = args.breakdown
    common["store_deals"] = args.store_deals
    if args.command == "win-loss":
        return WinLossParameters.validate(**common, source=args.source)
    return AgingParameters.validate(
        **common,
        threshold_days=args.threshold_days,
        cycle_threshold_days=args.cycle_threshold_days,
        stage_threshold_days=args.stage_thresholds,
    )


def _print_result(result: ReportResult, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result_json(result), indent=2))
    else:
        print(result_text(result))


def _run_command(args: argparse.Namespace) -> int:
    commands: dict[str, Callable[[argparse.Namespace], int]] = {
        "build": _build_command,
        "win-loss": _report_command,
        "aging": _report_command,
        "runs": _runs_command,
        "show": _show_command,
        "deals": _deals_command,
        "prune": _prune_command,
        "tenants": _tenants_command,
        "backfill": backfill_command,
        "demo": _demo_command,
    }
    return commands[args.command](args)


def _build_command(args: argparse.Namespace) -> int:
    print(build_reports_database(), end="")
    return 0


def _report_command(args: argparse.Namespace) -> int:
    params = report_parameters(args)
    limits = RunLimits.validate(args.lock_timeout_ms, args.statement_timeout_ms)
    with connect() as conn:
        _print_result(run_report(conn, params, limits, args.request_id), args.json)
    return 0


def _show_command(args: argparse.Namespace) -> int:
    with connect() as conn:
        result = load_result(conn, args.run_id)
    if result is None:
        print(f"{PROG}: no report run {args.run_id}", file=sys.stderr)
        return EXIT_FAILED
    _print_result(result, args.json)
    return 0


def _prune_command(args: argparse.Namespace) -> int:
    days = args.older_than_days
    if days is None:
        # the same retention as the Dagster schedule's
        days = load_refresh_settings().deal_retention_days
    with connect() as conn:
        pruned = prune_run_deals(conn, days)
    print(
        f"deleted {pruned.deal_rows} deal rows of {pruned.runs} runs generated before"
        f" {shown(pruned.cutoff)} ({days} days); their headers and fact rows are kept"
    )
    return 0


def _tenants_command(args: argparse.Namespace) -> int:
    with connect() as conn:
        rows = tenant_summaries(conn)
    if args.json:
        keys = (
            "tenant_id",
            "deal_count",
            "open_deal_count",
            "pipeline_count",
            "latest_stage_entry",
        )
        print(json.dumps([json_row({key: row[key] for key in keys}) for row in rows], indent=2))
    else:
        print(text_table(rows, TENANT_COLUMNS))
    return 0


def _demo_command(args: argparse.Namespace) -> int:
    if args.stop:
        stopped = stop_embedded_postgres()
        print(f"embedded PostgreSQL in {DEMO_DATA_DIR}: {'stopped' if stopped else 'not running'}")
        return 0
    print("Loading the Dagster definitions (the first time, dbt parses the project) ...")
    from orchestration.demo.walkthrough import run_demo  # noqa: PLC0415 - loads Dagster

    run_demo()
    return 0


def _deals_command(args: argparse.Namespace) -> int:
    with connect() as conn:
        header = run_header(conn, args.run_id)
        if header is None:
            print(f"{PROG}: no report run {args.run_id}", file=sys.stderr)
            return EXIT_FAILED
        rows = iter_run_deals(
            conn,
            header,
            pipeline_id=args.pipeline,
            stage_id=args.stage,
            at_risk=args.at_risk,
            limit=args.limit,
        )
        if args.json:
            write_deals_json(rows, sys.stdout)
        elif args.csv:
            write_deals_csv(rows, sys.stdout)
        else:
            write_deals_text(rows, header["report_type"], sys.stdout)
    return 0


def _runs_command(args: argparse.Namespace) -> int:
    # With --json, stdout is the JSON list alone; what recovery and the audit say goes
    # to stderr.
    notes = sys.stderr if args.json else sys.stdout
    with connect() as conn:
        if args.recover:
            recovered = recover_stale_run_details(conn)
            print(f"marked {len(recovered)} stale runs FAILED", file=notes)
            for run in recovered:
                print(
                    f"  {run.run_id}  {run.report_type}  tenant {run.tenant_id}"
                    f"  open {shown(run.age)}",
                    file=notes,
                )
        rows = recent_runs(conn, tenant_id=args.tenant, limit=args.limit)
        audit = audit_report_runs(conn) if args.check else None
    if args.json:
        print(json.dumps([json_row(row) for row in rows], indent=2))
    else:
        print(text_table(rows, RUN_COLUMNS))
    if audit is None:
        return 0
    counts = ", ".join(
        f"{count} {status}" for status, count in sorted(audit.runs_by_status.items())
    )
    print(
        f"check: {counts or 'no runs'}; {audit.fact_rows} fact rows, {audit.deal_rows} deal rows",
        file=notes,
    )
    for problem in audit.problems:
        print(f"check: PROBLEM: {problem}", file=notes)
    return 0 if audit.ok else EXIT_FAILED


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return _run_command(args)
    except ReportInputError as error:
        option = OPTION_FOR_FIELD.get(error.field, error.field)
        command = f"{PROG} {args.command}"
        parser.exit(
            EXIT_USAGE,
            f"{command}: error: argument {option}: {error.reason} (see {command} --help)\n",
        )
    except psycopg.Error as error:
        print(f"{PROG}: database error: {_one_line(error)}", file=sys.stderr)
    except (BuildError, ReportRunError, SampleDataError) as error:
        print(f"{PROG}: {_one_line(error)}", file=sys.stderr)
    except DbtCommandError as error:
        print(f"{PROG}: {error}", file=sys.stderr)  # dbt's own output, several lines
    except BrokenPipeError:
        # The reader (`| head`) has gone: say nothing more, and keep the interpreter's
        # final flush from failing on the closed pipe too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
