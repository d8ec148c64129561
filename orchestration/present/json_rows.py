"""Runs as JSON: ids and times as text, decimals as exact text (``--json``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from orchestration.reports.results import ReportResult
from orchestration.reports.stored_runs import Row


def json_value(value: Any) -> Any:
    """A JSON-ready value: ids and times as text, decimals as exact text."""
    if isinstance(value, uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def json_row(row: Row) -> dict[str, Any]:
    return {key: json_value(value) for key, value in row.items()}


def result_json(result: ReportResult) -> dict[str, Any]:
    return {"run": json_row(result.header), "facts": [json_row(row) for row in result.facts]}
