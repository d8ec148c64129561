"""Realistic CRM sample data for the demo: three tenants, a year of deals, from a seed.

Everything (ids, names, amounts, stage histories) follows from the seed and the ``until``
instant, so two loads with the same pair write exactly the same rows. The year of deals
ends at ``until``: the demo passes the start of the current day, so the aging report and
dbt's source freshness see recent activity.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import psycopg

from orchestration.warehouse.crm_batch import CrmBatch, StageEntry, count_deals

SAMPLE_SEED: Final = 20251123
_NAMESPACE: Final = uuid.UUID("0d7c3f8e-5b1a-4f2e-8c6d-9a4b2e1f7c30")

TENANT_NAMES: Final = ("Acme Robotics", "Globex Health", "Initech Software")
PIPELINE_NAMES: Final = ("New business", "Renewals", "Partner channel")
# (name, state) in stage order; the deal walks the open stages, then closes or stays open.
STAGES: Final = (
    ("Lead", "NOT_STARTED"),
    ("Qualified", "IN_PROGRESS"),
    ("Proposal", "IN_PROGRESS"),
    ("Negotiation", "IN_PROGRESS"),
    ("Won", "DONE_SUCCESS"),
    ("Lost", "DONE_FAILED"),
)
SOURCES: Final = ("web", "referral", "trade show", "outbound", "partner")
USERS_PER_TENANT: Final = 6
GROUPS_PER_TENANT: Final = 2
DAYS: Final = 365


@dataclass(frozen=True)
class SampleTenant:
    id: uuid.UUID
    name: str


def sample_tenants(seed: int = SAMPLE_SEED) -> list[SampleTenant]:
    """The sample tenants; their ids depend on the seed only (the example configs use them)."""
    return [
        SampleTenant(id=uuid.uuid5(_NAMESPACE, f"{seed}/tenant/{index}"), name=name)
        for index, name in enumerate(TENANT_NAMES)
    ]


@dataclass(frozen=True)
class _Pipeline:
    id: uuid.UUID
    stages: tuple[uuid.UUID, ...]  # in STAGES order


class _TenantGenerator:
    """One tenant's rows; every random choice comes from the tenant's own generator."""

    def __init__(self, batch: CrmBatch, tenant: SampleTenant, seed: int, until: datetime):
        self.batch = batch
        self.tenant = tenant.id
        self.until = until
        self.rng = random.Random(f"{seed}/{tenant.id}")  # noqa: S311 - sample data, not secrets

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def generate(self) -> None:
        pipelines = [self.pipeline(name) for name in PIPELINE_NAMES[: self.rng.randint(2, 3)]]
        users = [self.new_id() for _ in range(USERS_PER_TENANT)]
        groups = [self.new_id() for _ in range(GROUPS_PER_TENANT)]
        for number in range(self.rng.randint(250, 400)):
            self.deal(number, pipelines, users, groups)

    def pipeline(self, name: str) -> _Pipeline:
        pipeline_id = self.batch.pipeline(self.tenant, name, id=self.new_id())
        stages = tuple(
            self.batch.stage(self.tenant, pipeline_id, stage, order, state, id=self.new_id())
            for order, (stage, state) in enumerate(STAGES, start=1)
        )
        return _Pipeline(id=pipeline_id, stages=stages)

    def deal(
        self,
        number: int,
        pipelines: list[_Pipeline],
        users: list[uuid.UUID],
        groups: list[uuid.UUID],
    ) -> None:
        rng = self.rng
        pipeline = rng.choice(pipelines)
        created_at = self.until - timedelta(seconds=rng.randint(3600, DAYS * 86400))
        owner_group = rng.choice(groups)
        deal_id = self.batch.deal(
            self.tenant,
            # A few deals lost their pipeline in the CRM; their history still names one.
            pipeline_id=None if rng.random() < 0.04 else pipeline.id,
            created_at=created_at,
            amount=None if rng.random() < 0.08 else Decimal(rng.randint(500_00, 150_000_00)) / 100,
            source=None if rng.random() < 0.15 else rng.choice(SOURCES),
            owned_by_user_id=rng.choice(users),
            owned_by_group_id=owner_group,
            assigned_user_id=rng.choice(users) if rng.random() < 0.5 else None,
            assigned_group_id=rng.choice(groups) if rng.random() < 0.3 else None,
            name=f"Deal {number + 1:04d}",
            id=self.new_id(),
        )
        entries = self.history(pipeline, created_at)
        for index, entry in enumerate(entries):
            is_last = index == len(entries) - 1
            # Ids from the seed too (CrmBatch.history would draw random ones).
            self.batch.entry(
                self.tenant,
                deal_id,
                entry,
                exited_at=None if is_last else entries[index + 1].entered_at,
                is_current=is_last,
                id=self.new_id(),
            )

    def history(self, pipeline: _Pipeline, created_at: datetime) -> list[StageEntry]:
        """1 to 5 entries: through some open stages, then (often) won or lost.

        Entries never lie after ``until``; a deal whose next step would is still open.
        """
        rng = self.rng
        open_stages = pipeline.stages[:4]
        first = 0 if rng.random() < 0.8 else 1
        last_open = rng.randint(first, len(open_stages) - 1)
        path = list(open_stages[first : last_open + 1])
        outcome = rng.random()
        if outcome < 0.4:
            path.append(pipeline.stages[4])  # won
        elif outcome < 0.75:
            path.append(pipeline.stages[5])  # lost
        entries = []
        entered_at = created_at
        for stage in path[:5]:
            if entered_at > self.until:
                break
            entries.append(StageEntry(stage, pipeline.id, entered_at))
            entered_at += timedelta(days=rng.uniform(1, 45))
        return entries


def generate_sample_data(
    batch: CrmBatch, *, until: datetime, seed: int = SAMPLE_SEED
) -> list[SampleTenant]:
    """Add every sample tenant's rows to ``batch``; return the tenants."""
    tenants = sample_tenants(seed)
    for tenant in tenants:
        _TenantGenerator(batch, tenant, seed, until).generate()
    return tenants


class SampleDataError(RuntimeError):
    """The database holds CRM data the demo must not mix sample rows into."""


def load_sample_data(
    conn: psycopg.Connection[Any], *, until: datetime, seed: int = SAMPLE_SEED
) -> int:
    """Write the sample data unless it is there already; return the rows written.

    Idempotent: when any sample tenant already has deals nothing is written (the load is
    one transaction, so it is all there or not at all). A database holding deals of other
    tenants is refused rather than mixed with sample rows.
    """
    tenant_ids = [tenant.id for tenant in sample_tenants(seed)]
    sample_deals, other_deals = count_deals(conn, tenant_ids)
    if other_deals:
        raise SampleDataError(
            f"database {conn.info.dbname!r} already holds {other_deals} deals of other tenants;"
            " the demo loads its sample data only into a database without CRM data"
            " (set PGDATABASE to a new database)"
        )
    if sample_deals:
        return 0
    batch = CrmBatch()
    generate_sample_data(batch, until=until, seed=seed)
    return batch.write(conn)
