"""The ``dyno-reports`` command.

Exit codes: 0 done; 1 the database, dbt or a run failed (one line on stderr); 2 a bad
argument (one line naming it, nothing written). Never a traceback for either.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, Final

import psycopg

from orchestration.cli.backfill import backfill_command
from orchestration.cli.parser import EXIT_USAGE, OPTION_FOR_FIELD, PROG, build_parser
from orchestration.db import connect
from orchestration.demo.embedded_postgres import DEMO_DATA_DIR, stop_embedded_postgres
from orchestration.demo.sample_data import SampleDataError
from orchestration.present.columns import RUN_COLUMNS, shown
from orchestration.present.json_rows import json_row, result_json
from orchestration.present.text import result_text, text_table
from orchestration.reports import ReportInputError, ReportRunError, recover_stale_run_details
from orchestration.reports.audit import audit_report_runs
from orchestration.reports.parameters import (
    AgingParameters,
    ReportParameters,
    RunLimits,
    WinLossParameters,
)
from orchestration.reports.results import ReportResult, load_result, run_report
from orchestration.reports.stored_runs import recent_runs
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
    if args.command == "win-loss":
        return WinLossParameters.validate(**common, source=args.source)
    return AgingParameters.validate(
        **common,
        threshold_days=args.threshold_days,
        cycle_threshold_days=args.cycle_threshold_days,
    )


def _print_result(result: ReportResult, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result_json(result), indent=2))
    else:
        print(result_text(result))


def _run_command(args: argparse.Namespace) -> int:
    if args.command == "build":
        print(build_reports_database(), end="")
    elif args.command in ("win-loss", "aging"):
        params = report_parameters(args)
        limits = RunLimits.validate(args.lock_timeout_ms, args.statement_timeout_ms)
        with connect() as conn:
            _print_result(run_report(conn, params, limits, args.request_id), args.json)
    elif args.command == "runs":
        return _runs_command(args)
    elif args.command == "show":
        with connect() as conn:
            result = load_result(conn, args.run_id)
        if result is None:
            print(f"{PROG}: no report run {args.run_id}", file=sys.stderr)
            return EXIT_FAILED
        _print_result(result, args.json)
    elif args.command == "backfill":
        return backfill_command(args)
    elif args.command == "demo" and args.stop:
        stopped = stop_embedded_postgres()
        print(f"embedded PostgreSQL in {DEMO_DATA_DIR}: {'stopped' if stopped else 'not running'}")
    elif args.command == "demo":
        print("Loading the Dagster definitions (the first time, dbt parses the project) ...")
        from orchestration.demo.walkthrough import run_demo  # noqa: PLC0415 - loads Dagster

        run_demo()
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
    print(f"check: {counts or 'no runs'}; {audit.fact_rows} fact rows", file=notes)
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
