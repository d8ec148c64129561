"""Calendar months as the backfills name them (``YYYY-MM``), without loading Dagster."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from orchestration.reports.parameters import ReportInputError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_bounds(month: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnights starting ``month`` and the month after, as aware datetimes."""
    first = month.replace(day=1)
    following = next_month(first)
    return datetime.combine(first, time(), tzinfo=zone), datetime.combine(
        following, time(), tzinfo=zone
    )


def parse_month(field: str, text: str) -> date:
    """``YYYY-MM`` as the first day of that month; errors name ``field``."""
    match = _MONTH.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ReportInputError(field, f"{text!r} is not a month written YYYY-MM")
    return date(int(match.group(1)), int(match.group(2)), 1)


def parse_month_range(field: str, text: str) -> list[date]:
    """``YYYY-MM..YYYY-MM`` (both included) or one ``YYYY-MM``: the months, in order."""
    first_text, separator, last_text = text.partition("..")
    first = parse_month(field, first_text)
    last = parse_month(field, last_text) if separator else first
    if last < first:
        raise ReportInputError(field, f"the range {text!r} ends before it starts")
    months = []
    current = first
    while current <= last:
        months.append(current)
        current = next_month(current)
    return months
