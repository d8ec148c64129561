"""Retention of the deals behind report runs, as a Dagster op: ``prune_run_deals``.

Deal rows grow fast under the schedules (every standard run stores its deals), so the deal
rows of runs older than ``[retention] deal_days`` of ``refresh.toml`` are deleted; headers
and fact rows are kept (``orchestration.reports.retention``). The job that runs this op
(``jobs.deal_retention_job``) gets the days from the settings as its default config, so the
launchpad shows them and a one-off run can ask for another number;
``schedules.deal_retention_schedule`` runs it daily.
"""

from typing import Final, Self

import dagster as dg
from pydantic import Field, model_validator

from orchestration.defs.resources import PostgresResource
from orchestration.reports.errors import is_transient
from orchestration.reports.parameters import MAX_THRESHOLD_DAYS
from orchestration.reports.retention import PruneResult, parse_retention_days, prune_run_deals

PRUNE_OP: Final = "prune_run_deals"
PRUNE_MAX_RETRIES: Final = 2
PRUNE_RETRY_SECONDS: Final = 5


class DealRetentionConfig(dg.Config):
    """How old a run must be for its deals to be deleted."""

    older_than_days: int = Field(
        description=(
            "Delete the deal rows of runs generated more than this many days ago (0 to"
            f" {MAX_THRESHOLD_DAYS}); their headers and fact rows are kept. Default:"
            " refresh.toml's [retention] deal_days."
        )
    )

    @model_validator(mode="after")
    def _check(self) -> Self:
        parse_retention_days(self.older_than_days)  # names the field when refused
        return self


def prune_metadata(result: PruneResult, days: int) -> dict[str, dg.MetadataValue]:
    return {
        "runs_pruned": dg.MetadataValue.int(result.runs),
        "deal_rows_deleted": dg.MetadataValue.int(result.deal_rows),
        "cutoff": dg.MetadataValue.timestamp(result.cutoff),
        "older_than_days": dg.MetadataValue.int(days),
    }


@dg.op(name=PRUNE_OP, out=dg.Out(dg.Nothing))
def prune_run_deals_op(
    context: dg.OpExecutionContext, config: DealRetentionConfig, postgres: PostgresResource
) -> dg.Output[None]:
    """Delete the deal rows of old runs (a batch of runs per transaction); report how many."""
    days = config.older_than_days
    try:
        with postgres.connect() as conn:
            result = prune_run_deals(conn, days)
    except Exception as error:
        if is_transient(error):
            # Pruning is idempotent: the batches already committed stay done, a retry goes on.
            context.log.warning(f"connection lost, the step will run again: {error}")
            raise dg.RetryRequested(
                max_retries=PRUNE_MAX_RETRIES, seconds_to_wait=PRUNE_RETRY_SECONDS
            ) from error
        raise dg.Failure(
            description=f"{type(error).__name__}: {error}", allow_retries=False
        ) from error
    context.log.info(
        f"deleted {result.deal_rows} deal rows of {result.runs} runs generated before"
        f" {result.cutoff.isoformat()} ({days} days); their headers and fact rows are kept"
    )
    return dg.Output(None, metadata=prune_metadata(result, days))
