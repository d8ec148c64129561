"""The refresh's calendar: standard periods (day, week, month) and calendar months.

Every boundary is a local midnight in the refresh's time zone (``local_midnight``), so a
day is 23 or 25 hours across a DST change, and a monthly backfill and the scheduled
"previous month" report cover exactly the same instants. Months are named ``YYYY-MM`` as
the backfills take them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from orchestration.reports.parameters import ReportInputError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    name: str
    start: datetime
    end: datetime


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The start of ``day`` in ``zone``, as an aware datetime."""
    return datetime.combine(day, time(), tzinfo=zone)


def standard_periods(refreshed_at: datetime, zone: ZoneInfo) -> list[Period]:
    """The complete day, ISO week (Monday first) and month before ``refreshed_at``.

    Boundaries are local midnights in ``zone``, returned as aware datetimes; each period
    is [start, end).
    """
    today = refreshed_at.astimezone(zone).date()
    this_week = today - timedelta(days=today.weekday())
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    return [
        Period("day", local_midnight(today - timedelta(days=1), zone), local_midnight(today, zone)),
        Period(
            "week",
            local_midnight(this_week - timedelta(days=7), zone),
            local_midnight(this_week, zone),
        ),
        Period("month", local_midnight(last_month, zone), local_midnight(this_month, zone)),
    ]


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def month_bounds(month: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """Local midnights starting ``month`` and the month after, as aware datetimes."""
    first = month.replace(day=1)
    return local_midnight(first, zone), local_midnight(next_month(first), zone)


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
