"""Printing the benchmark's results as a Markdown table (pasted into docs/performance.md)."""

from __future__ import annotations

from collections.abc import Iterable

from bench.measure import Timing
from bench.runner import CaseResult

HEADER = (
    "| report | tenant | case | rows read | project ms (min-max) | floor ms | project/floor"
    " | seeds' SQL ms | seeds/project | facts = seeds | Python peak KiB | fact rows"
    " | deals stored |"
)


def _ms(timing: Timing) -> str:
    low, high = timing.spread_ms
    return f"{timing.median_ms:.1f} ({low:.1f}-{high:.1f})"


def _seeds(timing: Timing | None) -> str:
    if timing is None:
        return "not run"
    if timing.timed_out:
        return f"> {timing.samples[0]:.0f} s limit"
    return f"{timing.median_ms:.1f}"


def _seed_ratio(result: CaseResult) -> str:
    seeds = result.seeds
    if seeds is None:
        return "-"
    ratio = seeds.median_ms / result.project.median_ms
    return f"> {ratio:.0f}x" if seeds.timed_out else f"{ratio:.1f}x"


def row(result: CaseResult) -> str:
    case = result.case
    ratio = result.project.median_ms / max(result.floor.median_ms, 1e-3)
    cells = (
        case.report,
        case.tenant,
        case.label,
        f"{result.rows_read:,}",
        _ms(result.project),
        f"{result.floor.median_ms:.1f}",
        f"{ratio:.1f}x",
        _seeds(result.seeds),
        _seed_ratio(result),
        result.check,
        f"{result.python_peak_kib:.0f}",
        f"{result.fact_rows:,}",
        "-" if result.deals_stored is None else f"{result.deals_stored:,}",
    )
    return "| " + " | ".join(cells) + " |"


def render(results: Iterable[CaseResult]) -> str:
    separator = "|" + "---|" * HEADER.count(" | ") + "---|"
    return "\n".join([HEADER, separator, *(row(result) for result in results)])
