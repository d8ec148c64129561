"""Validated report parameters: the one place every input's rules live.

The Python API, the Dagster configs and the CLI all build these objects, so a bad input
gets the same answer everywhere: a ``ReportInputError`` naming the field and the reason,
raised before anything is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, Final, Literal

PrincipalType = Literal["USER", "GROUP"]
PRINCIPAL_TYPES: Final = ("USER", "GROUP")

Breakdown = Literal["user", "group", "source", "first_stage"]
# The dimensions each report can break its rows down by, in the order they are offered.
WIN_LOSS_BREAKDOWNS: Final[tuple[Breakdown, ...]] = ("user", "group", "source", "first_stage")
AGING_BREAKDOWNS: Final[tuple[Breakdown, ...]] = ("user", "group")
# The filter each breakdown's values take the place of in the fact rows.
_BREAKDOWN_FILTER: Final = {
    "user": ("principal_type", "principal_id"),
    "group": ("principal_type", "principal_id"),
    "source": ("source",),
    "first_stage": ("stage_id",),
}

# deal.source and the fact tables' source column are VARCHAR(200).
SOURCE_MAX_LENGTH: Final = 200
# A threshold beyond a century of days is a typo, not a policy; the column is INTEGER.
MAX_THRESHOLD_DAYS: Final = 36_500
_SHOWN_CHARS: Final = 60
# A run is bounded: every wait and every statement ends. Zero would mean "no limit" to
# PostgreSQL, so the smallest accepted value is 1 ms; a day is the largest sane bound.
DEFAULT_LOCK_TIMEOUT_MS: Final = 60_000
DEFAULT_STATEMENT_TIMEOUT_MS: Final = 30 * 60_000
MAX_TIMEOUT_MS: Final = 24 * 60 * 60_000


class ReportInputError(ValueError):
    """An input the reports cannot accept; ``field`` names it, ``reason`` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}... ({len(text)} chars)"


def parse_uuid(field: str, value: object, *, required: bool = False) -> uuid.UUID | None:
    """A UUID from a ``uuid.UUID`` or its string form; ``None`` stays ``None`` unless required."""
    if value is None:
        if required:
            raise ReportInputError(field, "is required")
        return None
    if isinstance(value, uuid.UUID):
        return value
    if not isinstance(value, str):
        raise ReportInputError(field, f"must be a UUID, not {type(value).__name__}")
    # uuid.UUID reads its hex with int(), which also takes "_" and other scripts' digits.
    if not value.isascii() or "_" in value:
        raise ReportInputError(field, f"is not a valid UUID: {_shown(value)}")
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        raise ReportInputError(field, f"is not a valid UUID: {_shown(value)}") from None


def require_uuid(field: str, value: object) -> uuid.UUID:
    parsed = parse_uuid(field, value, required=True)
    assert parsed is not None
    return parsed


def parse_aware_datetime(field: str, value: object, *, required: bool = False) -> datetime | None:
    """A timezone-aware datetime; naive datetimes are refused rather than guessed."""
    if value is None:
        if required:
            raise ReportInputError(field, "is required")
        return None
    if not isinstance(value, datetime):
        raise ReportInputError(
            field, f"must be a timezone-aware datetime, not {type(value).__name__}"
        )
    if value.tzinfo is None or value.utcoffset() is None:
        raise ReportInputError(field, "must be timezone-aware (got a naive datetime)")
    # The column would store a later or earlier instant, but Python could not read it back
    # (years 1 to 9999 only): the run's own header would then break `show` and `runs`.
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ReportInputError(
            field, f"{value.isoformat()} is outside the years 1 to 9999 in UTC"
        ) from None
    return value


def parse_period(
    start: object, end: object, *, required: bool
) -> tuple[datetime | None, datetime | None]:
    period_start = parse_aware_datetime("period_start", start, required=required)
    period_end = parse_aware_datetime("period_end", end, required=required)
    if period_start is not None and period_end is not None and period_start >= period_end:
        raise ReportInputError(
            "period_end",
            f"must be after period_start ({period_start.isoformat()} >= {period_end.isoformat()})",
        )
    return period_start, period_end


def parse_principal(
    principal_type: object, principal_id: object
) -> tuple[PrincipalType | None, uuid.UUID | None]:
    """Both or neither: a principal type filters nothing without the principal's id."""
    parsed_id = parse_uuid("principal_id", principal_id)
    if principal_type is None:
        if parsed_id is not None:
            raise ReportInputError("principal_type", "is required when principal_id is given")
        return None, None
    if principal_type == "USER":
        return "USER", _principal_id_for(parsed_id)
    if principal_type == "GROUP":
        return "GROUP", _principal_id_for(parsed_id)
    raise ReportInputError(
        "principal_type", f"must be 'USER' or 'GROUP', not {_shown(principal_type)}"
    )


def _principal_id_for(parsed_id: uuid.UUID | None) -> uuid.UUID:
    if parsed_id is None:
        raise ReportInputError("principal_id", "is required when principal_type is given")
    return parsed_id


def parse_source(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ReportInputError("source", f"must be a string, not {type(value).__name__}")
    if "\x00" in value:
        raise ReportInputError("source", "must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate: what Python makes of bytes that are not UTF-8 (a shell argument
        # in another encoding); the database would refuse it.
        raise ReportInputError(
            "source", f"must be valid UTF-8 text (it holds a lone surrogate): {_shown(value)}"
        ) from None
    if len(value) > SOURCE_MAX_LENGTH:
        raise ReportInputError(
            "source",
            f"is {len(value)} characters; deal sources are at most {SOURCE_MAX_LENGTH}",
        )
    return value


def parse_threshold(field: str, value: object, *, required: bool) -> int | None:
    if value is None:
        if required:
            raise ReportInputError(field, "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReportInputError(field, f"must be a whole number of days, not {_shown(value)}")
    if not 0 <= value <= MAX_THRESHOLD_DAYS:
        raise ReportInputError(field, f"must be between 0 and {MAX_THRESHOLD_DAYS}, not {value}")
    return value


def parse_breakdown(
    value: object, allowed: tuple[Breakdown, ...], filters: Mapping[str, object]
) -> Breakdown | None:
    """One of ``allowed``, or None; refused when the run already filters that dimension to
    one value (its rows would then hold both the filter and the breakdown's values)."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in allowed:
        names = ", ".join(repr(name) for name in allowed)
        raise ReportInputError("breakdown", f"must be one of {names}, not {_shown(value)}")
    breakdown: Breakdown = value  # type: ignore[assignment]
    given = [name for name in _BREAKDOWN_FILTER[breakdown] if filters.get(name) is not None]
    if given:
        raise ReportInputError(
            "breakdown",
            f"{breakdown!r} cannot be combined with the {given[0]} filter: the rows of a"
            f" {breakdown} breakdown hold each value in that column; drop one of the two",
        )
    return breakdown


def parse_store_deals(value: object) -> bool:
    if value is None:
        return True
    if not isinstance(value, bool):
        raise ReportInputError("store_deals", f"must be true or false, not {_shown(value)}")
    return value


def parse_stage_thresholds(value: object) -> tuple[tuple[uuid.UUID, int], ...]:
    """Stage id -> days, from a mapping (or pairs); sorted by stage id, each stage once."""
    field = "stage_threshold_days"
    if value is None:
        return ()
    if isinstance(value, Mapping):
        pairs: list[tuple[object, object]] = list(value.items())
    elif isinstance(value, list | tuple):
        pairs = []
        for pair in value:
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ReportInputError(
                    field, f"must map stage ids to days, not hold {_shown(pair)}"
                )
            pairs.append((pair[0], pair[1]))
    else:
        raise ReportInputError(
            field, f"must map stage ids to days, not be a {type(value).__name__}"
        )
    thresholds: dict[uuid.UUID, int] = {}
    for stage, days in pairs:
        stage_id = require_uuid(field, stage)
        if stage_id in thresholds:
            raise ReportInputError(field, f"stage {stage_id} is given twice")
        parsed = parse_threshold(f"{field}[{stage_id}]", days, required=True)
        assert parsed is not None
        thresholds[stage_id] = parsed
    return tuple(sorted(thresholds.items(), key=lambda item: str(item[0])))


def parse_timeout_ms(field: str, value: object, default: int) -> int:
    """A timeout in whole milliseconds, ``1..MAX_TIMEOUT_MS``; ``None`` means ``default``."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReportInputError(
            field, f"must be a whole number of milliseconds, not {_shown(value)}"
        )
    if not 1 <= value <= MAX_TIMEOUT_MS:
        raise ReportInputError(
            field, f"must be between 1 and {MAX_TIMEOUT_MS} milliseconds (24 h), not {value}"
        )
    return value


@dataclass(frozen=True)
class RunLimits:
    """How long a run may wait for a lock, and how long one of its statements may take.

    Applied to each of the run's transactions with ``set_config(..., true)``, so they end
    with the transaction and never leak into the caller's session.
    """

    lock_timeout_ms: int = DEFAULT_LOCK_TIMEOUT_MS
    statement_timeout_ms: int = DEFAULT_STATEMENT_TIMEOUT_MS

    @classmethod
    def validate(
        cls, lock_timeout_ms: object = None, statement_timeout_ms: object = None
    ) -> RunLimits:
        return cls(
            lock_timeout_ms=parse_timeout_ms(
                "lock_timeout_ms", lock_timeout_ms, DEFAULT_LOCK_TIMEOUT_MS
            ),
            statement_timeout_ms=parse_timeout_ms(
                "statement_timeout_ms", statement_timeout_ms, DEFAULT_STATEMENT_TIMEOUT_MS
            ),
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def _options(
    breakdown: Breakdown | None,
    store_deals: bool,
    stage_thresholds: tuple[tuple[uuid.UUID, int], ...] = (),
) -> dict[str, Any]:
    """The options beyond the seeds' that differ from their defaults, for ``input_params``."""
    options: dict[str, Any] = {}
    if breakdown is not None:
        options["breakdown"] = breakdown
    if not store_deals:
        options["store_deals"] = False
    if stage_thresholds:
        options["stage_threshold_days"] = {str(stage): days for stage, days in stage_thresholds}
    return options


@dataclass(frozen=True)
class WinLossParameters:
    """Deal Win/Loss Analysis: deals whose current stage is terminal, entered in the period."""

    report_type: ClassVar[str] = "deal_win_loss"
    facts_sql: ClassVar[str] = "win_loss_facts.sql"

    tenant_id: uuid.UUID
    period_start: datetime
    period_end: datetime
    pipeline_id: uuid.UUID | None = None
    principal_type: PrincipalType | None = None
    principal_id: uuid.UUID | None = None
    source: str | None = None
    stage_id: uuid.UUID | None = None
    breakdown: Breakdown | None = None
    store_deals: bool = True

    @classmethod
    def validate(
        cls,
        tenant_id: object,
        period_start: object,
        period_end: object,
        pipeline_id: object = None,
        principal_type: object = None,
        principal_id: object = None,
        source: object = None,
        stage_id: object = None,
        breakdown: object = None,
        store_deals: object = True,
    ) -> WinLossParameters:
        start, end = parse_period(period_start, period_end, required=True)
        assert start is not None
        assert end is not None
        kind, principal = parse_principal(principal_type, principal_id)
        parsed_source = parse_source(source)
        parsed_stage = parse_uuid("stage_id", stage_id)
        filters = {
            "principal_type": kind,
            "principal_id": principal,
            "source": parsed_source,
            "stage_id": parsed_stage,
        }
        return cls(
            tenant_id=require_uuid("tenant_id", tenant_id),
            period_start=start,
            period_end=end,
            pipeline_id=parse_uuid("pipeline_id", pipeline_id),
            principal_type=kind,
            principal_id=principal,
            source=parsed_source,
            stage_id=parsed_stage,
            breakdown=parse_breakdown(breakdown, WIN_LOSS_BREAKDOWNS, filters),
            store_deals=parse_store_deals(store_deals),
        )

    def input_params(self, generated_at: datetime) -> dict[str, Any]:
        """The seeds' ``input_params`` document; an option beyond the seeds' only when it is
        given (so a seeds' call stores the seeds' document)."""
        return {
            "pipeline_id": _text(self.pipeline_id),
            "principal_type": self.principal_type,
            "principal_id": _text(self.principal_id),
            "source": self.source,
            "stage_id": _text(self.stage_id),
            "period_start": _iso(self.period_start),
            "period_end": _iso(self.period_end),
            **_options(self.breakdown, self.store_deals),
        }

    def query_params(self, generated_at: datetime) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "pipeline_id": self.pipeline_id,
            "principal_type": self.principal_type,
            "principal_id": self.principal_id,
            "source": self.source,
            "stage_id": self.stage_id,
            "breakdown": self.breakdown,
            "store_deals": self.store_deals,
        }


@dataclass(frozen=True)
class AgingParameters:
    """Deal Aging / At-Risk: open deals, as of ``period_end`` (else the run's start)."""

    report_type: ClassVar[str] = "deal_aging"

    tenant_id: uuid.UUID
    threshold_days: int
    cycle_threshold_days: int | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    pipeline_id: uuid.UUID | None = None
    principal_type: PrincipalType | None = None
    principal_id: uuid.UUID | None = None
    stage_id: uuid.UUID | None = None
    breakdown: Breakdown | None = None
    store_deals: bool = True
    # (stage id, days) sorted by stage id: a stage's own threshold instead of threshold_days
    stage_threshold_days: tuple[tuple[uuid.UUID, int], ...] = ()

    @classmethod
    def validate(
        cls,
        tenant_id: object,
        threshold_days: object,
        cycle_threshold_days: object = None,
        period_start: object = None,
        period_end: object = None,
        pipeline_id: object = None,
        principal_type: object = None,
        principal_id: object = None,
        stage_id: object = None,
        breakdown: object = None,
        store_deals: object = True,
        stage_threshold_days: object = None,
    ) -> AgingParameters:
        start, end = parse_period(period_start, period_end, required=False)
        kind, principal = parse_principal(principal_type, principal_id)
        threshold = parse_threshold("threshold_days", threshold_days, required=True)
        assert threshold is not None
        filters = {"principal_type": kind, "principal_id": principal}
        return cls(
            tenant_id=require_uuid("tenant_id", tenant_id),
            threshold_days=threshold,
            cycle_threshold_days=parse_threshold(
                "cycle_threshold_days", cycle_threshold_days, required=False
            ),
            period_start=start,
            period_end=end,
            pipeline_id=parse_uuid("pipeline_id", pipeline_id),
            principal_type=kind,
            principal_id=principal,
            stage_id=parse_uuid("stage_id", stage_id),
            breakdown=parse_breakdown(breakdown, AGING_BREAKDOWNS, filters),
            store_deals=parse_store_deals(store_deals),
            stage_threshold_days=parse_stage_thresholds(stage_threshold_days),
        )

    @property
    def facts_sql(self) -> str:
        """The seeds' rows alone come from the group-by-group walk (aging_facts.sql); with
        deals or totals, every open deal is read once (aging_detail.sql)."""
        if self.breakdown is None and not self.store_deals:
            return "aging_facts.sql"
        return "aging_detail.sql"

    def as_of(self, generated_at: datetime) -> datetime:
        return self.period_end if self.period_end is not None else generated_at

    def input_params(self, generated_at: datetime) -> dict[str, Any]:
        """The seeds' ``input_params`` document, plus the effective as-of time."""
        return {
            "threshold_days": self.threshold_days,
            "cycle_threshold_days": self.cycle_threshold_days,
            "period_start": _iso(self.period_start),
            "period_end": _iso(self.period_end),
            "pipeline_id": _text(self.pipeline_id),
            "principal_type": self.principal_type,
            "principal_id": _text(self.principal_id),
            "stage_id": _text(self.stage_id),
            "as_of": self.as_of(generated_at).isoformat(),
            **_options(self.breakdown, self.store_deals, self.stage_threshold_days),
        }

    def query_params(self, generated_at: datetime) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "threshold_days": self.threshold_days,
            "cycle_threshold_days": self.cycle_threshold_days,
            "period_start": self.period_start,
            "period_end": self.period_end,
            "pipeline_id": self.pipeline_id,
            "principal_type": self.principal_type,
            "principal_id": self.principal_id,
            "stage_id": self.stage_id,
            "as_of": self.as_of(generated_at),
            "breakdown": self.breakdown,
            "store_deals": self.store_deals,
            "threshold_stage_ids": [stage for stage, _ in self.stage_threshold_days],
            "threshold_stage_days": [days for _, days in self.stage_threshold_days],
        }


ReportParameters = WinLossParameters | AgingParameters
