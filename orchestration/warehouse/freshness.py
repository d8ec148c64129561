"""Source freshness, as dbt defines it in the sources YAML (``dbt source freshness``)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestration.warehouse.dbt_cli import run_dbt

STALE_STATUSES = frozenset({"error", "runtime error"})


@dataclass(frozen=True)
class SourceFreshness:
    source: str
    status: str
    max_loaded_at: str | None
    age_hours: float | None

    @property
    def is_stale(self) -> bool:
        return self.status in STALE_STATUSES

    def describe(self) -> str:
        if self.age_hours is None:
            return f"{self.source}: {self.status}"
        return (
            f"{self.source}: {self.status}, newest row {self.max_loaded_at}"
            f" ({self.age_hours:.1f} h old)"
        )


def check_source_freshness(environ: Mapping[str, str] | None = None) -> list[SourceFreshness]:
    """Run ``dbt source freshness`` and return one result per source with a threshold."""
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "sources.json"
        run_dbt(
            ["source", "freshness", "--output", str(output)],
            environ=environ,
            accepted_exit_codes=(0, 1),
        )
        document = json.loads(output.read_text())
    results = []
    for result in document.get("results", []):
        age = result.get("max_loaded_at_time_ago_in_s")
        results.append(
            SourceFreshness(
                source=str(result["unique_id"]).removeprefix("source.dyno_crm_reports."),
                status=str(result["status"]),
                max_loaded_at=result.get("max_loaded_at"),
                age_hours=None if age is None else float(age) / 3600,
            )
        )
    return sorted(results, key=lambda item: item.source)


def stale_reason(results: list[SourceFreshness]) -> str | None:
    """Why the reports should not run now, or None when every source is fresh enough."""
    stale = [result.describe() for result in results if result.is_stale]
    if not stale:
        return None
    return "sources are stale, reports skipped: " + "; ".join(stale)
