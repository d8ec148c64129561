"""The two report assets: one stored run per materialisation, for the configured tenant."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import dagster as dg
import psycopg
from dagster import AssetExecutionContext

from orchestration.defs.dbt_assets import dbt_asset_key
from orchestration.defs.report_configs import AgingReportConfig, WinLossReportConfig
from orchestration.defs.resources import PostgresResource
from orchestration.present.columns import REPORT_COLUMNS
from orchestration.present.markdown import markdown_table
from orchestration.reports.dagster_runs import dagster_run_session
from orchestration.reports.errors import is_transient
from orchestration.reports.parameters import ReportParameters, RunLimits
from orchestration.reports.results import ReportResult, run_report

REPORTS_GROUP: Final = "reports"
# Names the request ids of Dagster steps (uuid5), apart from any the callers choose.
REQUEST_NAMESPACE: Final = uuid.UUID("5d0c8f4e-2b7a-4d3e-9a61-7f3c2e8b1d40")
PREVIEW_ROWS: Final = 50

# Only a lost connection is retried: a step-level RetryPolicy would also retry bad config
# (refused while the config is loaded, before the body can tell) and errors that would
# only recur. A retried step runs again from its start: a report it had already stored is
# found by its request id (run_once) and not run twice; the interrupted report's facts were
# rolled back and its header marked FAILED, so a retry never duplicates facts or successful
# headers.
REPORT_MAX_RETRIES: Final = 2
REPORT_RETRY_SECONDS: Final = 5


@contextmanager
def report_session(
    context: AssetExecutionContext, postgres: PostgresResource
) -> Iterator[psycopg.Connection[Any]]:
    """A connection for the step's report runs; a lost connection retries the step.

    The session records the Dagster run id in each header it writes, so that the
    run-failure sensor can mark the headers FAILED if this run dies
    (orchestration/reports/dagster_runs.py). Any other error fails the step without a retry.
    """
    try:
        with postgres.connect() as conn, dagster_run_session(conn, context.run.run_id):
            yield conn
    except Exception as error:
        if is_transient(error):
            context.log.warning(f"connection lost, the step will run again: {error}")
            raise dg.RetryRequested(
                max_retries=REPORT_MAX_RETRIES, seconds_to_wait=REPORT_RETRY_SECONDS
            ) from error
        raise dg.Failure(
            description=f"{type(error).__name__}: {error}", allow_retries=False
        ) from error


def run_step(
    context: AssetExecutionContext,
    postgres: PostgresResource,
    params: ReportParameters,
    limits: RunLimits | None = None,
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Run the report and describe the stored run as materialisation metadata."""
    with report_session(context, postgres) as conn:
        result = run_once(context, conn, params, limits)
    context.log.info(f"report run {result.run_id}: {len(result.facts)} fact rows")
    return dg.MaterializeResult(metadata=report_metadata(result))


def step_request_id(context: AssetExecutionContext, label: str = "") -> uuid.UUID:
    """The report request of this Dagster run, asset, partition and report (``label``): the
    same for every attempt of the step, so a retry never stores the report twice."""
    partition = context.partition_key if context.has_partition_key else ""
    parts = [context.run.run_id, context.asset_key.to_user_string(), str(partition), label]
    return uuid.uuid5(REQUEST_NAMESPACE, "/".join(parts))


def run_once(
    context: AssetExecutionContext,
    conn: psycopg.Connection[Any],
    params: ReportParameters,
    limits: RunLimits | None = None,
    label: str = "",
) -> ReportResult:
    """Run the report, unless an earlier attempt of this Dagster step already stored it:
    every attempt passes the same request id, which returns the stored run."""
    return run_report(conn, params, limits, step_request_id(context, label))


def report_metadata(result: ReportResult) -> dict[str, dg.MetadataValue]:
    header = result.header
    preview = markdown_table(result.facts[:PREVIEW_ROWS], REPORT_COLUMNS[result.report_type])
    if len(result.facts) > PREVIEW_ROWS:
        preview += f"\n\n_first {PREVIEW_ROWS} of {len(result.facts)} rows_"
    return {
        "run_id": dg.MetadataValue.text(str(result.run_id)),
        "tenant_id": dg.MetadataValue.text(str(header["tenant_id"])),
        "status": dg.MetadataValue.text(str(header["status"])),
        "fact_rows": dg.MetadataValue.int(len(result.facts)),
        "input_params": dg.MetadataValue.json(header["input_params"]),
        "preview": dg.MetadataValue.md(preview),
    }


@dg.asset(
    deps=[dbt_asset_key("int_closing_instances")],
    group_name=REPORTS_GROUP,
    kinds={"postgres", "python"},
)
def deal_win_loss_report(
    context: AssetExecutionContext, config: WinLossReportConfig, postgres: PostgresResource
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Deal Win/Loss Analysis for the configured tenant and period, stored as one report run."""
    return run_step(context, postgres, config.parameters(), config.limits())


@dg.asset(
    deps=[dbt_asset_key("int_current_deals")],
    group_name=REPORTS_GROUP,
    kinds={"postgres", "python"},
)
def deal_aging_report(
    context: AssetExecutionContext, config: AgingReportConfig, postgres: PostgresResource
) -> dg.MaterializeResult:  # type: ignore[type-arg]
    """Deal Aging / At-Risk for the configured tenant, stored as one report run."""
    return run_step(context, postgres, config.parameters(), config.limits())
