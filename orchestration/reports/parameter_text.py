"""Report inputs given as text (CLI arguments, Dagster config) turned into typed values.

Only the conversion from text lives here; every rule about the values themselves stays in
``orchestration.reports.parameters``, so the messages are the same on every path.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from orchestration.reports.parameters import ReportInputError, parse_aware_datetime

DATETIME_FORMS = "YYYY-MM-DD (midnight UTC) or an ISO 8601 time with an offset"
_SHOWN_CHARS = 40
# ASCII digits only: int() would also take "1_4" (as 14) and other scripts' digits ("٣").
_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def _shown(text: str) -> str:
    return repr(text) if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]!r}..."


def parse_whole_number_text(field: str, text: str) -> int:
    """A whole number written in ASCII digits (a leading minus allowed, for its range check)."""
    stripped = text.strip(" \t")
    if not _WHOLE_NUMBER.fullmatch(stripped):
        raise ReportInputError(field, f"must be a whole number in digits 0-9, not {_shown(text)}")
    return int(stripped)


def parse_datetime_text(field: str, text: str | None) -> datetime | None:
    """A timezone-aware datetime from ``2025-01-01`` or ``2025-01-01T09:30:00+02:00``.

    A bare date means midnight UTC, so a period can be typed as two dates. A time without
    an offset is refused, as the API refuses naive datetimes: guessing its zone would move
    the period's edges silently.
    """
    if text is None:
        return None
    stripped = text.strip()
    try:
        if len(stripped) == len("YYYY-MM-DD"):
            day = date.fromisoformat(stripped)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        value = datetime.fromisoformat(stripped)
    except ValueError:
        raise ReportInputError(
            field, f"is not a date or time ({DATETIME_FORMS}): {_shown(text)}"
        ) from None
    if value.tzinfo is None:
        raise ReportInputError(
            field, f"needs a UTC offset such as +00:00 or Z (got {_shown(text)})"
        )
    return parse_aware_datetime(field, value)
