"""Hand-built CRM data, one tenant per scenario, loaded once before the session's dbt build.

Ids are uuid5 of readable names, so tests refer to them by name and every run is the same.
Expected numbers live in the tests, worked out by hand from the data below.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from orchestration.warehouse.crm_batch import CrmBatch, StageEntry

NAMESPACE = uuid.UUID("6f1c1d2e-8a4b-4c1e-9f0a-3d5e7b9c1a2f")


def uid(*parts: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "/".join(parts))


def at(text: str) -> datetime:
    """A UTC instant from 'YYYY-MM-DD[ HH:MM[:SS[.ffffff]]]'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


Q1_START = at("2025-01-01")
Q1_END = at("2025-04-01")


@dataclass
class Pipeline:
    """A pipeline with the usual five stages: two open, then won and lost, plus Lead first."""

    id: uuid.UUID
    lead: uuid.UUID
    qualified: uuid.UUID
    proposal: uuid.UUID
    won: uuid.UUID
    lost: uuid.UUID

    def at(self, stage: uuid.UUID, when: str) -> StageEntry:
        return StageEntry(stage_id=stage, pipeline_id=self.id, entered_at=at(when))


def pipeline_ids(key: str) -> Pipeline:
    """The ids ``standard_pipeline`` gives the pipeline and stages of ``key``."""
    return Pipeline(
        id=uid(key, "pipeline"),
        **{stage: uid(key, stage) for stage in ("lead", "qualified", "proposal", "won", "lost")},
    )


def standard_pipeline(batch: CrmBatch, tenant: uuid.UUID, name: str, key: str) -> Pipeline:
    pipeline_id = batch.pipeline(tenant, name, id=uid(key, "pipeline"))
    stages = {}
    for order, (stage, state) in enumerate(
        [
            ("lead", "NOT_STARTED"),
            ("qualified", "IN_PROGRESS"),
            ("proposal", "IN_PROGRESS"),
            ("won", "DONE_SUCCESS"),
            ("lost", "DONE_FAILED"),
        ],
        start=1,
    ):
        stages[stage] = batch.stage(
            tenant, pipeline_id, stage.title(), order, state, id=uid(key, stage)
        )
    return Pipeline(id=pipeline_id, **stages)


# --- Win/loss ------------------------------------------------------------------------------

WL_TENANT = uid("win-loss", "tenant")
WL_USER_1 = uid("win-loss", "user-1")
WL_USER_2 = uid("win-loss", "user-2")
WL_GROUP_1 = uid("win-loss", "group-1")
SOURCE_QUOTES = 'O\'Brien "referral"; drop table deal; --'
SOURCE_UNICODE = "Empfehlung – café ☕ 日本"  # noqa: RUF001 - a real en dash on purpose


def load_win_loss(batch: CrmBatch) -> None:
    """Pipelines P1 and P2; Q1 2025 holds 3 won + 1 lost in P1, 1 won in P2, 1 lost without one."""
    t = WL_TENANT
    p1 = standard_pipeline(batch, t, "P1", "wl-p1")
    p2 = standard_pipeline(batch, t, "P2", "wl-p2")

    def deal(key: str, pipeline: uuid.UUID | None, created: str, **kw: object) -> uuid.UUID:
        return batch.deal(t, pipeline_id=pipeline, created_at=at(created), id=uid("wl", key), **kw)  # type: ignore[arg-type]

    # Won exactly at the period start: included.
    d = deal(
        "w1", p1.id, "2024-12-01", amount=Decimal("100"), source="web", owned_by_user_id=WL_USER_1
    )
    batch.history(t, d, [p1.at(p1.lead, "2024-12-01"), p1.at(p1.won, "2025-01-01")])
    # Won a microsecond before the period end: included; assigned to user 1, owned by user 2.
    d = deal(
        "w2",
        p1.id,
        "2024-12-02",
        amount=Decimal("300"),
        source=SOURCE_QUOTES,
        owned_by_user_id=WL_USER_2,
        assigned_user_id=WL_USER_1,
    )
    batch.history(t, d, [p1.at(p1.lead, "2024-12-02"), p1.at(p1.won, "2025-03-31 23:59:59.999999")])
    # Lost, no source, owned by group 1.
    d = deal("l1", p1.id, "2024-12-03", amount=Decimal("50"), owned_by_group_id=WL_GROUP_1)
    batch.history(t, d, [p1.at(p1.lead, "2024-12-03"), p1.at(p1.lost, "2025-02-10")])
    # Won exactly at the period end: excluded.
    d = deal("x-end", p1.id, "2024-12-04", amount=Decimal("1000"), source="web")
    batch.history(t, d, [p1.at(p1.lead, "2024-12-04"), p1.at(p1.won, "2025-04-01")])
    # Won a second before the period: excluded.
    d = deal("x-before", p1.id, "2024-12-05", amount=Decimal("2000"), source="web")
    batch.history(t, d, [p1.at(p1.lead, "2024-12-05"), p1.at(p1.won, "2024-12-31 23:59:59")])
    # Lost in the period, then reopened: its current stage is open, so not closed.
    d = deal("reopened", p1.id, "2024-12-06", amount=Decimal("4000"), owned_by_user_id=WL_USER_1)
    batch.history(
        t,
        d,
        [
            p1.at(p1.lead, "2024-12-06"),
            p1.at(p1.lost, "2025-02-01"),
            p1.at(p1.qualified, "2025-02-15"),
        ],
    )
    # Moved pipeline: its history is in P2, the deal is now in P1; no amount; group 1 assigned.
    d = deal("moved", p1.id, "2025-01-10", assigned_group_id=WL_GROUP_1)
    batch.history(t, d, [p2.at(p2.lead, "2025-01-10"), p2.at(p2.won, "2025-03-01")])
    # No pipeline; lost via P2's lost stage; unicode source; first stage is P1's lead.
    d = deal("no-pipeline", None, "2025-01-02", amount=Decimal("70"), source=SOURCE_UNICODE)
    batch.history(t, d, [p1.at(p1.lead, "2025-01-02"), p2.at(p2.lost, "2025-01-20")])
    # First-stage tie: lead and qualified entered at the same instant; lead (order 1) is first.
    d = deal("tie", p2.id, "2025-01-05", amount=Decimal("10"))
    batch.entry(t, d, p2.at(p2.qualified, "2025-01-05 10:00"), exited_at=at("2025-02-02"))
    batch.entry(t, d, p2.at(p2.lead, "2025-01-05 10:00"), exited_at=at("2025-02-02"))
    batch.entry(t, d, p2.at(p2.won, "2025-02-02"), is_current=True)


WL_P1 = uid("wl-p1", "pipeline")
WL_P2 = uid("wl-p2", "pipeline")
WL_P1_LEAD = uid("wl-p1", "lead")
WL_P2_LEAD = uid("wl-p2", "lead")
WL_P2_QUALIFIED = uid("wl-p2", "qualified")


# --- Two tenants sharing every id ----------------------------------------------------------

TWIN_A = uid("twins", "tenant-a")
TWIN_B = uid("twins", "tenant-b")
TWIN_PIPELINE = uid("twins", "pipeline")
TWIN_CLOSING_STAGE = uid("twins", "closing-stage")
TWIN_OPEN_STAGE = uid("twins", "open-stage")
TWIN_DEAL = uid("twins", "deal")
TWIN_OPEN_DEAL = uid("twins", "open-deal")
TWIN_USER = uid("twins", "user")


def load_twins(batch: CrmBatch) -> None:
    """Tenants A and B use the same ids for everything, with different data.

    In A the closing stage is won and the deal is worth 100; in B the same stage id is lost
    and the same deal id is worth 999 and owned by the user. Each also has one open deal.
    """
    for tenant, state, amount, owner, open_amount in (
        (TWIN_A, "DONE_SUCCESS", Decimal("100"), None, Decimal("1")),
        (TWIN_B, "DONE_FAILED", Decimal("999"), TWIN_USER, Decimal("2")),
    ):
        batch.pipeline(tenant, "Shared", id=TWIN_PIPELINE)
        batch.stage(tenant, TWIN_PIPELINE, "Open", 1, "IN_PROGRESS", id=TWIN_OPEN_STAGE)
        batch.stage(tenant, TWIN_PIPELINE, "Closing", 2, state, id=TWIN_CLOSING_STAGE)
        batch.deal(
            tenant,
            pipeline_id=TWIN_PIPELINE,
            created_at=at("2025-01-01"),
            amount=amount,
            owned_by_user_id=owner,
            id=TWIN_DEAL,
        )
        batch.history(
            tenant,
            TWIN_DEAL,
            [
                StageEntry(TWIN_OPEN_STAGE, TWIN_PIPELINE, at("2025-01-01")),
                StageEntry(TWIN_CLOSING_STAGE, TWIN_PIPELINE, at("2025-02-01")),
            ],
        )
        batch.deal(
            tenant,
            pipeline_id=TWIN_PIPELINE,
            created_at=at("2025-01-01"),
            amount=open_amount,
            owned_by_user_id=owner,
            id=TWIN_OPEN_DEAL,
        )
        batch.history(
            tenant, TWIN_OPEN_DEAL, [StageEntry(TWIN_OPEN_STAGE, TWIN_PIPELINE, at("2025-03-01"))]
        )


# --- Aging ---------------------------------------------------------------------------------

AG_TENANT = uid("aging", "tenant")
AG_AS_OF = at("2025-06-01")
AG_USER = uid("aging", "user")
AG_GROUP = uid("aging", "group")
AG_P1 = uid("ag-p1", "pipeline")
AG_LEAD = uid("ag-p1", "lead")
AG_QUALIFIED = uid("ag-p1", "qualified")


def load_aging(batch: CrmBatch) -> None:
    """As of 2025-06-01: three deals in Lead, one in Qualified, one without pipeline."""
    t = AG_TENANT
    p1 = standard_pipeline(batch, t, "P1", "ag-p1")

    def deal(key: str, pipeline: uuid.UUID | None, created: str, **kw: object) -> uuid.UUID:
        return batch.deal(t, pipeline_id=pipeline, created_at=at(created), id=uid("ag", key), **kw)  # type: ignore[arg-type]

    # 31 days in Lead, 31 days old.
    d = deal("a1", p1.id, "2025-05-01", amount=Decimal("100"), owned_by_user_id=AG_USER)
    batch.history(t, d, [p1.at(p1.lead, "2025-05-01")])
    # Exactly 10 days in Lead (not above a threshold of 10), 151 days old, no amount.
    d = deal("a2", p1.id, "2025-01-01", assigned_user_id=AG_USER)
    batch.history(t, d, [p1.at(p1.lead, "2025-05-22")])
    # Half a day in Lead.
    d = deal("a3", p1.id, "2025-05-31 12:00", amount=Decimal("40"), owned_by_group_id=AG_GROUP)
    batch.history(t, d, [p1.at(p1.lead, "2025-05-31 12:00")])
    # Reopened: lost, then back in Qualified 12 days ago; 31 days old.
    d = deal("a4", p1.id, "2025-05-01", amount=Decimal("60"), assigned_group_id=AG_GROUP)
    batch.history(
        t,
        d,
        [
            p1.at(p1.lead, "2025-05-01"),
            p1.at(p1.lost, "2025-05-10"),
            p1.at(p1.qualified, "2025-05-20"),
        ],
    )
    # Closed: not open.
    d = deal("a5", p1.id, "2025-01-01", amount=Decimal("500"))
    batch.history(t, d, [p1.at(p1.lead, "2025-01-01"), p1.at(p1.won, "2025-02-01")])
    # No pipeline, 2 days in P1's Qualified.
    d = deal("a6", None, "2025-05-30", amount=Decimal("5"))
    batch.history(t, d, [p1.at(p1.qualified, "2025-05-30")])
    # Entered Lead exactly at the as-of time: outside a period ending then.
    d = deal("a7", p1.id, "2025-06-01", amount=Decimal("7"))
    batch.history(t, d, [p1.at(p1.lead, "2025-06-01")])


AG_FUTURE_TENANT = uid("aging-future", "tenant")


def load_aging_future(batch: CrmBatch, now: datetime) -> None:
    """One open deal whose stage entry lies a day after 'now': its days clamp to 0."""
    t = AG_FUTURE_TENANT
    p1 = standard_pipeline(batch, t, "P1", "agf-p1")
    d = batch.deal(t, pipeline_id=p1.id, created_at=now + timedelta(days=1), amount=Decimal("3"))
    batch.history(t, d, [StageEntry(p1.lead, p1.id, now + timedelta(days=1))])


# --- Aging groups the report must find by walking its index --------------------------------

AG_GROUPS_TENANT = uid("aging-groups", "tenant")
AG_NO_PIPELINE_TENANT = uid("aging-no-pipeline", "tenant")


AGG_P1 = pipeline_ids("agg-p1")
AGG_P2 = pipeline_ids("agg-p2")
AGN_P1 = pipeline_ids("agn-p1")


def load_aging_groups(batch: CrmBatch) -> None:
    """Groups at the edges of the report's index walk (as of 2025-06-01).

    ``AG_GROUPS_TENANT``: a deal of P2 sitting in a stage of P1, deals without a pipeline in
    stages of both pipelines, and a group whose only deal entered its stage long before the
    others. ``AG_NO_PIPELINE_TENANT``: open deals, none with a pipeline.
    """
    t = AG_GROUPS_TENANT
    p1 = standard_pipeline(batch, t, "P1", "agg-p1")
    p2 = standard_pipeline(batch, t, "P2", "agg-p2")
    deals: list[tuple[uuid.UUID | None, StageEntry, str]] = [
        (p2.id, p1.at(p1.lead, "2025-05-10"), "2025-05-01"),
        (p1.id, p1.at(p1.lead, "2025-05-20"), "2025-03-01"),
        (p1.id, p1.at(p1.lead, "2025-05-25"), "2025-05-25"),
        (None, p2.at(p2.qualified, "2025-04-15"), "2025-04-01"),
        (None, p1.at(p1.lead, "2025-05-30"), "2025-05-30"),
        (p1.id, p1.at(p1.proposal, "2024-11-01"), "2024-10-01"),
        (p2.id, p2.at(p2.proposal, "2025-05-31"), "2025-05-02"),
    ]
    for n, (pipeline, entry, created) in enumerate(deals):
        d = batch.deal(
            t,
            pipeline_id=pipeline,
            created_at=at(created),
            amount=Decimal(10 * (n + 1)),
            id=uid("agg", str(n)),
        )
        batch.history(t, d, [entry])

    t = AG_NO_PIPELINE_TENANT
    lone = standard_pipeline(batch, t, "P1", "agn-p1")
    for n, (stage, entered) in enumerate(
        [(lone.lead, "2025-05-01"), (lone.lead, "2025-05-21"), (lone.proposal, "2025-02-01")]
    ):
        d = batch.deal(t, pipeline_id=None, created_at=at("2025-01-01"), id=uid("agn", str(n)))
        batch.history(t, d, [lone.at(stage, entered)])


# --- A run that must fail: sums beyond NUMERIC(20,2) -----------------------------------------

OVERFLOW_TENANT = uid("overflow", "tenant")
MAX_AMOUNT = Decimal("999999999999999999.99")


def load_overflow(batch: CrmBatch) -> None:
    t = OVERFLOW_TENANT
    p1 = standard_pipeline(batch, t, "P1", "of-p1")
    for key in ("d1", "d2"):
        d = batch.deal(
            t, pipeline_id=p1.id, created_at=at("2025-01-01"), amount=MAX_AMOUNT, id=uid("of", key)
        )
        batch.history(t, d, [p1.at(p1.lead, "2025-01-01"), p1.at(p1.won, "2025-02-01")])


# --- Random data for comparison with the seeds' SQL ------------------------------------------

RANDOM_TENANT = uid("random", "tenant")


@dataclass
class RandomTenant:
    """What the random tenant holds, so that tests can pick filter values from it."""

    pipelines: list[Pipeline] = field(default_factory=list)
    users: list[uuid.UUID] = field(default_factory=list)
    groups: list[uuid.UUID] = field(default_factory=list)
    sources: list[str | None] = field(default_factory=list)


RANDOM = RandomTenant(
    users=[uid("random", f"user-{n}") for n in range(4)],
    groups=[uid("random", f"group-{n}") for n in range(3)],
    sources=["web", "referral", "partner", SOURCE_QUOTES, SOURCE_UNICODE, None],
)


def load_random(batch: CrmBatch, deals: int = 400, seed: int = 20251122) -> None:
    """Deals with 1-5 stage entries at distinct instants (no first-stage ties), across 2025.

    About half end in a terminal stage; some have no amount, no source or no pipeline.
    """
    rng = random.Random(seed)
    t = RANDOM_TENANT
    RANDOM.pipelines = [standard_pipeline(batch, t, f"R{n}", f"rnd-p{n}") for n in range(3)]
    start = at("2024-10-01")
    for n in range(deals):
        pipeline = rng.choice(RANDOM.pipelines)
        created = start + timedelta(seconds=rng.randrange(0, 400 * 86400))
        amount = None if rng.random() < 0.1 else Decimal(rng.randrange(100, 5_000_000)) / 100
        d = batch.deal(
            t,
            pipeline_id=None if rng.random() < 0.1 else pipeline.id,
            created_at=created,
            amount=amount,
            source=rng.choice(RANDOM.sources),
            owned_by_user_id=rng.choice([*RANDOM.users, None]),
            owned_by_group_id=rng.choice([*RANDOM.groups, None]),
            assigned_user_id=rng.choice([*RANDOM.users, None]),
            assigned_group_id=rng.choice([*RANDOM.groups, None]),
            id=uid("random", "deal", str(n)),
        )
        open_stages = [pipeline.lead, pipeline.qualified, pipeline.proposal]
        steps = rng.randint(1, 5)
        when = created
        entries = []
        for step in range(steps):
            last = step == steps - 1
            if last and rng.random() < 0.5:
                stage = rng.choice([pipeline.won, pipeline.lost])
            elif last:
                stage = rng.choice(open_stages)
            else:
                # A terminal stage before the last entry makes a reopened deal.
                stage = rng.choice([*open_stages, pipeline.lost])
            entries.append(StageEntry(stage, pipeline.id, when))
            when += timedelta(seconds=rng.randrange(3600, 60 * 86400))
        batch.history(t, d, entries)


# --- Sample sizes: the win rate's interval on random counts ----------------------------------

SIZES_TENANT = uid("sample-sizes", "tenant")
SIZES_SOURCES = ("web", "referral", None)


@dataclass(frozen=True)
class SampleSize:
    """One pipeline's closed deals in Q1 2025: how many were won and lost."""

    pipeline: Pipeline
    won: int
    lost: int
    amounts: bool  # False: every deal of the pipeline has no amount (win rate by amount NULL)


def sample_sizes(seed: int = 20251201) -> list[SampleSize]:
    """The edge cases (a single deal, all won, all lost, no amounts), then random counts:
    1 to 60 closed deals per pipeline, each split into won and lost at random."""
    rng = random.Random(seed)
    counts = [(0, 1, True), (1, 0, True), (0, 9, True), (12, 0, True), (3, 4, False)]
    for _ in range(22):
        closed = rng.randint(1, 60)
        won = rng.randint(0, closed)
        counts.append((won, closed - won, True))
    return [
        SampleSize(pipeline_ids(f"sz-p{n}"), won, lost, amounts)
        for n, (won, lost, amounts) in enumerate(counts)
    ]


def load_sample_sizes(batch: CrmBatch, seed: int = 20251202) -> None:
    """One pipeline per ``sample_sizes`` entry; each deal enters Lead, then closes in Q1 2025.
    Amounts random (some NULL, some 0), sources random (some NULL)."""
    rng = random.Random(seed)
    t = SIZES_TENANT
    for n, size in enumerate(sample_sizes()):
        pipeline = standard_pipeline(batch, t, f"S{n}", f"sz-p{n}")
        outcomes = [pipeline.won] * size.won + [pipeline.lost] * size.lost
        for k, stage in enumerate(outcomes):
            entered = Q1_START + timedelta(seconds=rng.randrange(0, 80 * 86400))
            amount = None
            if size.amounts and rng.random() < 0.9:
                amount = Decimal(0 if rng.random() < 0.1 else rng.randrange(100, 2_000_000)) / 100
            d = batch.deal(
                t,
                pipeline_id=pipeline.id,
                created_at=entered - timedelta(days=1),
                amount=amount,
                source=rng.choice(SIZES_SOURCES),
                id=uid("sz", str(n), str(k)),
            )
            closed = entered + timedelta(seconds=rng.randrange(60, 5 * 86400))
            batch.history(
                t,
                d,
                [
                    StageEntry(pipeline.lead, pipeline.id, entered),
                    StageEntry(stage, pipeline.id, closed),
                ],
            )


def load_all(batch: CrmBatch, now: datetime) -> None:
    load_win_loss(batch)
    load_twins(batch)
    load_aging(batch)
    load_aging_future(batch, now)
    load_aging_groups(batch)
    load_overflow(batch)
    load_random(batch)
    load_sample_sizes(batch)
