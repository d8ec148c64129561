"""Runs as a terminal shows them: aligned tables and a few lines about each run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from orchestration.present.columns import Column, cells, report_columns, shown
from orchestration.reports.results import ReportResult
from orchestration.reports.stored_runs import Row


def text_table(rows: Sequence[Row], columns: Sequence[Column]) -> str:
    """An aligned plain-text table, or ``(no rows)``."""
    if not rows:
        return "(no rows)"
    table = cells(rows, columns)
    widths = [
        max(len(column.heading), *(len(line[index]) for line in table))
        for index, column in enumerate(columns)
    ]

    def line(values: Sequence[str]) -> str:
        padded = (
            value.rjust(width) if column.right else value.ljust(width)
            for value, width, column in zip(values, widths, columns, strict=True)
        )
        return "  ".join(padded).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line([c.heading for c in columns]), rule, *map(line, table)])


REPORT_TITLES: Final = {"deal_win_loss": "Deal Win/Loss", "deal_aging": "Deal Aging / At-Risk"}
_FILTERS: Final = ("pipeline_id", "principal_type", "principal_id", "source", "stage_id")


def describe_parameters(header: Row) -> str:
    """What the run covered, in words, from its stored ``input_params``."""
    params: dict[str, Any] = header["input_params"] or {}
    if header["report_type"] == "deal_aging":
        text = f"as of {params.get('as_of')}, at risk after {params.get('threshold_days')} days"
        if params.get("cycle_threshold_days") is not None:
            text += f" in a stage or {params['cycle_threshold_days']} days since creation"
        if params.get("period_start") is not None:
            text += f", stage entered from {params['period_start']}"
    else:
        text = f"closed in [{params.get('period_start')}, {params.get('period_end')})"
    filters = [f"{name}={params[name]}" for name in _FILTERS if params.get(name) is not None]
    text += f"; filters: {', '.join(filters)}" if filters else ""
    if params.get("stage_threshold_days"):
        stages = ", ".join(
            f"{stage}={days}" for stage, days in params["stage_threshold_days"].items()
        )
        text += f"; stage thresholds (days): {stages}"
    if params.get("breakdown"):
        text += f"; broken down by {params['breakdown']}, with totals"
    if params.get("store_deals") is False:
        text += "; deals not stored"
    return text


_SHARED_DEALS: Final = (
    "note: a deal owned by one {0} and assigned to another counts in both {0}s' rows,"
    " so the {0} rows can add up to more than the total; '{0} (none)' is the deals with no {0}"
)


def describe_freshness(header: Row) -> str | None:
    """What data the run saw, from its header (None for runs older than the columns)."""
    latest, built = header.get("data_latest_stage_entry"), header.get("models_built_at")
    if latest is None and built is None:
        return None
    return f"data: latest stage entry {shown(latest)}, models built {shown(built)}"


def result_text(result: ReportResult) -> str:
    """A run as a terminal shows it: one line about the run, then its fact rows."""
    header = result.header
    title = REPORT_TITLES.get(result.report_type, result.report_type)
    lines = [
        f"{title}: run {result.run_id} {header['status']}, tenant {header['tenant_id']},"
        f" {len(result.facts)} rows",
        describe_parameters(header),
    ]
    freshness = describe_freshness(header)
    if freshness is not None:
        lines.append(freshness)
    if header.get("deal_count") is not None:
        lines.append(
            f"deals: {header['deal_count']} stored (`dyno-reports deals {result.run_id}`)"
            if header.get("deals_pruned_at") is None
            else f"deals: deleted by retention at {shown(header['deals_pruned_at'])}"
        )
    if header.get("error_message"):
        lines.append(f"error: {shown(header['error_message'])}")
    breakdown = (header.get("input_params") or {}).get("breakdown")
    if breakdown in ("user", "group"):
        lines.append(_SHARED_DEALS.format(breakdown))
    lines.append(text_table(result.facts, report_columns(result.report_type, result.facts)))
    return "\n".join(lines)
