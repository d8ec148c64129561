"""The ``dyno-reports`` argument parser: every command, option and its checks.

Each option's ``type=`` is one of the report API's parsers, so a bad value gets the API's
reason, as one line naming the option (exit 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, Final, NoReturn

from orchestration.cli.backfill import add_backfill_arguments
from orchestration.reports import ReportInputError
from orchestration.reports.parameter_text import (
    DATETIME_FORMS,
    parse_datetime_text,
    parse_whole_number_text,
)
from orchestration.reports.parameters import (
    AGING_BREAKDOWNS,
    DEFAULT_LOCK_TIMEOUT_MS,
    DEFAULT_STATEMENT_TIMEOUT_MS,
    MAX_THRESHOLD_DAYS,
    PRINCIPAL_TYPES,
    WIN_LOSS_BREAKDOWNS,
    parse_source,
    parse_threshold,
    parse_timeout_ms,
    require_uuid,
)
from orchestration.reports.retention import DEFAULT_DEAL_RETENTION_DAYS

PROG: Final = "dyno-reports"
MAX_LIMIT: Final = 10_000
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
    "request_id": "--request-id",
    "breakdown": "--breakdown",
    "store_deals": "--no-deals",
    "stage_threshold_days": "--stage-threshold",
    "at_risk": "--at-risk",
    "older_than_days": "--older-than-days",
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
        field,
        lambda text: parse_threshold(field, parse_whole_number_text(field, text), required=True),
    )


def _milliseconds(field: str, default: int) -> Callable[[str], Any]:
    return _checked(
        field, lambda text: parse_timeout_ms(field, parse_whole_number_text(field, text), default)
    )


def _stage_threshold(text: str) -> tuple[Any, int]:
    """``STAGE=DAYS``: a stage id and its whole number of days."""
    stage, separator, days = text.partition("=")
    if not separator:
        raise argparse.ArgumentTypeError(f"must be STAGE=DAYS, not {text!r}")
    field = "stage_threshold_days"
    try:
        stage_id = require_uuid(field, stage.strip())
        value = parse_threshold(
            f"{field}[{stage_id}]", parse_whole_number_text(field, days.strip()), required=True
        )
    except ReportInputError as error:
        raise argparse.ArgumentTypeError(error.reason) from None
    assert value is not None
    return stage_id, value


def _limit(text: str) -> int:
    try:
        value = parse_whole_number_text("limit", text)
    except ReportInputError as error:
        raise argparse.ArgumentTypeError(error.reason) from None
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
    parser.add_argument(
        "--request-id",
        type=_uuid("request_id"),
        help="your UUID for this request: run again with it, and the run that succeeded is"
        " printed instead of run twice",
    )
    parser.add_argument(
        "--no-deals",
        dest="store_deals",
        action="store_false",
        help="store the fact rows only, not the deals behind them (`deals RUN_ID` lists those)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _add_breakdown(parser: argparse.ArgumentParser, names: tuple[str, ...]) -> None:
    parser.add_argument(
        "--breakdown",
        choices=names,
        help="also store one row per value of this dimension (each equal to the run filtered"
        " by that value; a deal owned by one user and assigned to another counts for both),"
        " and the totals",
    )


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
    _add_breakdown(win_loss, WIN_LOSS_BREAKDOWNS)

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
    aging.add_argument(
        "--stage-threshold",
        dest="stage_thresholds",
        action="append",
        type=_stage_threshold,
        metavar="STAGE=DAYS",
        help="this stage's own threshold instead of --threshold-days (repeatable)",
    )
    _add_breakdown(aging, AGING_BREAKDOWNS)

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

    deals = commands.add_parser(
        "deals", help="the deals behind a run's numbers (runs store them unless --no-deals)"
    )
    deals.add_argument("run_id", metavar="RUN_ID", type=_uuid("run_id"))
    deals.add_argument("--pipeline", type=_uuid("pipeline_id"), help="only this pipeline (UUID)")
    deals.add_argument(
        "--stage",
        type=_uuid("stage_id"),
        help="only this stage (UUID): aging the current stage, win/loss the first stage",
    )
    deals.add_argument("--at-risk", action="store_true", help="aging: only the deals at risk")
    deals.add_argument("--limit", type=_limit, help="at most this many deals")
    deals_format = deals.add_mutually_exclusive_group()
    deals_format.add_argument("--json", action="store_true", help="print a JSON array")
    deals_format.add_argument("--csv", action="store_true", help="print CSV with a header row")

    prune = commands.add_parser(
        "prune", help="delete the deals of old runs (headers and fact rows are kept)"
    )
    prune.add_argument(
        "--older-than-days",
        type=_days("older_than_days"),
        default=None,
        help="runs generated more than N days ago (default: refresh.toml's"
        f" [retention] deal_days, else {DEFAULT_DEAL_RETENTION_DAYS})",
    )

    tenants = commands.add_parser(
        "tenants", help="every tenant with its deal, open-deal and pipeline counts"
    )
    tenants.add_argument("--json", action="store_true", help="print JSON instead of a table")

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
