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
from typing import Any, Final, NoReturn

import psycopg

from orchestration.backfill import add_backfill_arguments
from orchestration.build import BuildError, build_reports_database
from orchestration.db import connect
from orchestration.dbt_cli import DbtCommandError
from orchestration.embedded_postgres import DEMO_DATA_DIR, stop_embedded_postgres
from orchestration.input_text import DATETIME_FORMS, parse_datetime_text
from orchestration.report_runner import ReportResult, load_result, run_report
from orchestration.reports import ReportInputError, ReportRunError, recover_stale_run_details
from orchestration.reports.audit import audit_report_runs
from orchestration.reports.parameters import (
    DEFAULT_LOCK_TIMEOUT_MS,
    DEFAULT_STATEMENT_TIMEOUT_MS,
    MAX_THRESHOLD_DAYS,
    PRINCIPAL_TYPES,
    AgingParameters,
    ReportParameters,
    RunLimits,
    WinLossParameters,
    parse_source,
    parse_threshold,
    parse_timeout_ms,
    require_uuid,
)
from orchestration.run_records import recent_runs
from orchestration.sample_data import SampleDataError
from orchestration.tables import (
    RUN_COLUMNS,
    json_row,
    result_json,
    result_text,
    shown,
    text_table,
)

PROG: Final = "dyno-reports"
MAX_LIMIT: Final = 10_000
EXIT_FAILED: Final = 1
EXIT_USAGE: Final = 2

# The option that carries each parameter, for errors found across several options.
OPTION_FOR_FIELD: Final = {
    "tenant_id": "--tenant",
    "period_start": "--from",
    "period_end": "--to",
    "pipeline_id": "--pipeline",
    "principal_type": "--principal-type",
    "principal_id": "--principal-id",
    "source": "--source",
    "stage_id": "--stage",
    "threshold_days": "--threshold-days",
    "cycle_threshold_days": "--cycle-threshold-days",
    "lock_timeout_ms": "--lock-timeout-ms",
    "statement_timeout_ms": "--statement-timeout-ms",
}


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage is in ``--help``)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _checked(field: str, parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse ``type=`` from one of the API's parsers: same rules, same reasons."""

    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ReportInputError as error:
            raise argparse.ArgumentTypeError(error.reason) from None

    convert.__name__ = field  # argparse names the type in some messages
    return convert


def _uuid(field: str) -> Callable[[str], Any]:
    return _checked(field, lambda text: require_uuid(field, text))


def _datetime(field: str) -> Callable[[str], Any]:
    return _checked(field, lambda text: parse_datetime_text(field, text))


def _days(field: str) -> Callable[[str], Any]:
    return _checked(
        field, lambda text: parse_threshold(field, _whole_number(field, text), required=True)
    )


def _whole_number(field: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ReportInputError(field, f"must be a whole number, not {text!r}") from None


def _milliseconds(field: str, default: int) -> Callable[[str], Any]:
    return _checked(
        field, lambda text: parse_timeout_ms(field, _whole_number(field, text), default)
    )


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_LIMIT}, not {value}")
    return value


def _add_filters(parser: argparse.ArgumentParser, *, source: bool) -> None:
    parser.add_argument("--tenant", required=True, type=_uuid("tenant_id"), help="tenant UUID")
    parser.add_argument("--pipeline", type=_uuid("pipeline_id"), help="only this pipeline (UUID)")
    parser.add_argument(
        "--principal-type",
        choices=PRINCIPAL_TYPES,
        help="USER: owning or assigned user; GROUP: owning or assigned group",
    )
    parser.add_argument(
        "--principal-id", type=_uuid("principal_id"), help="the user or group (UUID)"
    )
    if source:
        parser.add_argument(
            "--source", type=_checked("source", parse_source), help="exact deal source"
        )
    parser.add_argument(
        "--lock-timeout-ms",
        type=_milliseconds("lock_timeout_ms", DEFAULT_LOCK_TIMEOUT_MS),
        help=f"longest wait for a lock (default {DEFAULT_LOCK_TIMEOUT_MS})",
    )
    parser.add_argument(
        "--statement-timeout-ms",
        type=_milliseconds("statement_timeout_ms", DEFAULT_STATEMENT_TIMEOUT_MS),
        help=f"longest statement (default {DEFAULT_STATEMENT_TIMEOUT_MS})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description="Deal Win/Loss and Deal Aging reports on the database in the PG* variables.",
        epilog=f"Times: {DATETIME_FORMS}. Exit codes: 1 failed, 2 bad argument.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("build", help="create the report storage and run dbt build")

    win_loss = commands.add_parser(
        "win-loss", help="run Deal Win/Loss now and print its rows", epilog=DATETIME_FORMS
    )
    _add_filters(win_loss, source=True)
    win_loss.add_argument(
        "--from",
        dest="period_start",
        required=True,
        type=_datetime("period_start"),
        help="period start, inclusive",
    )
    win_loss.add_argument(
        "--to",
        dest="period_end",
        required=True,
        type=_datetime("period_end"),
        help="period end, exclusive",
    )
    win_loss.add_argument("--stage", type=_uuid("stage_id"), help="first stage entered (UUID)")

    aging = commands.add_parser(
        "aging", help="run Deal Aging / At-Risk now and print its rows", epilog=DATETIME_FORMS
    )
    _add_filters(aging, source=False)
    aging.add_argument(
        "--threshold-days",
        required=True,
        type=_days("threshold_days"),
        help=f"at risk after more than N days in the stage (0..{MAX_THRESHOLD_DAYS})",
    )
    aging.add_argument(
        "--cycle-threshold-days",
        type=_days("cycle_threshold_days"),
        help="also at risk after more than N days since the deal was created",
    )
    aging.add_argument(
        "--from",
        dest="period_start",
        type=_datetime("period_start"),
        help="only deals whose current stage was entered from here",
    )
    aging.add_argument(
        "--to",
        dest="period_end",
        type=_datetime("period_end"),
        help="as-of time and period end (default: now)",
    )
    aging.add_argument("--stage", type=_uuid("stage_id"), help="only this current stage (UUID)")

    runs = commands.add_parser("runs", help="recent report runs with status and errors")
    runs.add_argument("--tenant", type=_uuid("tenant_id"), help="only this tenant's runs")
    runs.add_argument("--limit", type=_limit, default=20, help="how many (default 20)")
    runs.add_argument(
        "--recover", action="store_true", help="first mark runs whose process died FAILED"
    )
    runs.add_argument(
        "--check",
        action="store_true",
        help="also audit the stored runs (orphan or cross-tenant facts, stuck runs);"
        " exit 1 if any problem",
    )
    runs.add_argument("--json", action="store_true", help="print JSON instead of a table")

    show = commands.add_parser("show", help="one run's header and fact rows")
    show.add_argument("run_id", metavar="RUN_ID", type=_uuid("run_id"))
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")

    add_backfill_arguments(
        commands.add_parser(
            "backfill", help="monthly win/loss partitions for many tenants, through Dagster"
        )
    )

    demo = commands.add_parser(
        "demo",
        help="sample data, build and both reports through Dagster for three tenants"
        " (embedded PostgreSQL when PGHOST is unset)",
    )
    demo.add_argument(
        "--stop",
        action="store_true",
        help="only stop the embedded PostgreSQL a demo left running (its data stays)",
    )
    return parser


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
            _print_result(run_report(conn, params, limits), args.json)
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
        from orchestration.backfill import backfill_command  # noqa: PLC0415 - loads Dagster

        return backfill_command(args)
    elif args.command == "demo" and args.stop:
        stopped = stop_embedded_postgres()
        print(f"embedded PostgreSQL in {DEMO_DATA_DIR}: {'stopped' if stopped else 'not running'}")
    elif args.command == "demo":
        print("Loading the Dagster definitions (the first time, dbt parses the project) ...")
        from orchestration.demo import run_demo  # noqa: PLC0415 - loads Dagster

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
