"""The standard win/loss periods of a scheduled refresh: previous day, week and month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Period:
    name: str
    start: datetime
    end: datetime


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone)


def standard_periods(refreshed_at: datetime, zone: ZoneInfo) -> list[Period]:
    """The complete day, ISO week (Monday first) and month before ``refreshed_at``.

    Boundaries are local midnights in ``zone`` (so a day is 23 or 25 hours across a DST
    change), returned as aware datetimes; each period is [start, end).
    """
    today = refreshed_at.astimezone(zone).date()
    this_week = today - timedelta(days=today.weekday())
    this_month = today.replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    return [
        Period("day", _midnight(today - timedelta(days=1), zone), _midnight(today, zone)),
        Period("week", _midnight(this_week - timedelta(days=7), zone), _midnight(this_week, zone)),
        Period("month", _midnight(last_month, zone), _midnight(this_month, zone)),
    ]
