"""The two report assets: one stored run per materialisation, for the configured tenant."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Final

import dagster as dg
import psycopg
from dagster import AssetExecutionContext

from orchestration.defs.dbt_assets import dbt_asset_key
from orchestration.defs.report_configs import AgingReportConfig, WinLossReportConfig
from orchestration.defs.resources import PostgresResource
from orchestration.present.columns import report_columns
from orchestration.present.markdown import markdown_table
from orchestration.reports.dagster_runs import dagster_run_session
from orchestration.reports.errors import is_transient
from orchestration.reports.parameters import ReportParameters, RunLimits
from orchestration.reports.results import ReportResult, run_report
from orchestration.reports.run_deals import deals_unavailable, iter_run_deals
from orchestration.reports.stored_runs import Row

REPORTS_GROUP: Final = "reports"
# Names the request ids of Dagster steps (uuid5), apart from any the callers choose.
REQUEST_NAMESPACE: Final = uuid.UUID("5d0c8f4e-2b7a-4d3e-9a61-7f3c2e8b1d40")
PREVIEW_ROWS: Final = 50
# The at-risk deals an aging materialisation shows, longest in their stage first.
TOP_AT_RISK_DEALS: Final = 10

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
        at_risk = top_at_risk_deals(conn, result)
    context.log.info(f"report run {result.run_id}: {run_summary(result)}")
    return dg.MaterializeResult(metadata=report_metadata(result, at_risk))


def step_request_id(context: AssetExecutionContext, label: str = "") -> uuid.UUID:
    """The report request of this Dagster run, asset, partition and report (``label``): the
    same for every attempt of the step, so a retry never stores the report twice. A
    re-execution of a run is the same request as the run it re-executes (its root): a run
    whose process was killed after its report committed, re-executed, finds that report."""
    partition = context.partition_key if context.has_partition_key else ""
    run = context.run
    parts = [
        run.root_run_id or run.run_id,
        context.asset_key.to_user_string(),
        str(partition),
        label,
    ]
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


def run_summary(result: ReportResult) -> str:
    """``N fact rows`` and, when the run stored them, ``M deals``, for the step's log."""
    deals = result.header.get("deal_count")
    return f"{len(result.facts)} fact rows" + ("" if deals is None else f", {deals} deals")


def top_at_risk_deals(conn: psycopg.Connection[Any], result: ReportResult) -> list[Row] | None:
    """The stored run's at-risk deals, longest in their stage first (``TOP_AT_RISK_DEALS``);
    None for a win/loss run or one whose deals are not stored (store_deals false)."""
    if result.report_type != "deal_aging" or deals_unavailable(result.header) is not None:
        return None
    return list(iter_run_deals(conn, result.header, at_risk=True, limit=TOP_AT_RISK_DEALS))


AT_RISK_SCHEMA: Final = dg.TableSchema(
    columns=[
        dg.TableColumn("deal", "string", description="The deal's name (its id when unnamed)."),
        dg.TableColumn("deal_id", "string"),
        dg.TableColumn("pipeline", "string", description="Pipeline name; empty: no pipeline."),
        dg.TableColumn("stage", "string", description="The current stage."),
        dg.TableColumn("days_in_stage", "float"),
        dg.TableColumn("amount", "decimal", description="As counted (no amount: 0), exact."),
        dg.TableColumn(
            "at_risk_by",
            "string",
            description="Which threshold made it at risk: stage, cycle or stage_and_cycle.",
        ),
        dg.TableColumn("owner_id", "string", description="The owning user, else the group."),
    ]
)


def at_risk_table(deals: list[Row]) -> dg.TableMetadataValue:
    """``deals`` (rows of ``iter_run_deals``) as a table of ``AT_RISK_SCHEMA``."""
    records = [
        dg.TableRecord(
            {
                "deal": deal["deal_name"] or str(deal["deal_id"]),
                "deal_id": str(deal["deal_id"]),
                "pipeline": deal["pipeline_name"],
                "stage": deal["stage_name"] or str(deal["stage_id"]),
                "days_in_stage": float(deal["days_in_stage"]),
                "amount": str(deal["amount"]),
                "at_risk_by": deal["at_risk_by"],
                "owner_id": _text(deal["owned_by_user_id"] or deal["owned_by_group_id"]),
            }
        )
        for deal in deals
    ]
    return dg.MetadataValue.table(records, schema=AT_RISK_SCHEMA)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _timestamp(value: datetime | None) -> dg.MetadataValue:
    return dg.MetadataValue.null() if value is None else dg.MetadataValue.timestamp(value)


def report_metadata(
    result: ReportResult, at_risk: list[Row] | None = None
) -> dict[str, dg.MetadataValue]:
    """The stored run as materialisation metadata: its ids, counts, parameters, the freshness
    of the data it read, a preview of its fact rows and, for an aging run with stored deals,
    its top at-risk deals (``at_risk``, from ``top_at_risk_deals``)."""
    header = result.header
    preview = markdown_table(
        result.facts[:PREVIEW_ROWS], report_columns(result.report_type, result.facts)
    )
    if len(result.facts) > PREVIEW_ROWS:
        preview += f"\n\n_first {PREVIEW_ROWS} of {len(result.facts)} rows_"
    deal_count = header.get("deal_count")
    metadata: dict[str, dg.MetadataValue] = {
        "run_id": dg.MetadataValue.text(str(result.run_id)),
        "tenant_id": dg.MetadataValue.text(str(header["tenant_id"])),
        "status": dg.MetadataValue.text(str(header["status"])),
        "fact_rows": dg.MetadataValue.int(len(result.facts)),
        # None: the run kept facts only (store_deals false)
        "deal_count": (
            dg.MetadataValue.null() if deal_count is None else dg.MetadataValue.int(deal_count)
        ),
        "data_latest_stage_entry": _timestamp(header.get("data_latest_stage_entry")),
        "models_built_at": _timestamp(header.get("models_built_at")),
        "input_params": dg.MetadataValue.json(header["input_params"]),
        "preview": dg.MetadataValue.md(preview),
    }
    breakdown = header["input_params"].get("breakdown")
    if breakdown is not None:
        metadata["breakdown"] = dg.MetadataValue.text(str(breakdown))
    if at_risk is not None:
        metadata["top_at_risk_deals"] = at_risk_table(at_risk)
    return metadata


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
