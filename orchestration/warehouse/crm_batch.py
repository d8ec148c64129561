"""Writing CRM source rows: the demo's sample data, the benchmark's scale data, test scenarios.

A ``CrmBatch`` collects rows in memory and writes them with COPY in one transaction.
It is never pointed at a user's warehouse by the project; only the demo, the benchmark
and the tests create source data.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql

_COLUMNS: dict[str, tuple[str, ...]] = {
    "pipeline": ("id", "tenant_id", "name"),
    "pipeline_stage": ("id", "tenant_id", "pipeline_id", "name", "stage_order", "stage_state"),
    "deal": (
        "id",
        "tenant_id",
        "pipeline_id",
        "name",
        "amount",
        "source",
        "created_at",
        "owned_by_user_id",
        "owned_by_group_id",
        "assigned_user_id",
        "assigned_group_id",
    ),
    "deal_pipeline_stage_state": (
        "id",
        "tenant_id",
        "deal_id",
        "pipeline_id",
        "pipeline_stage_id",
        "entered_at",
        "exited_at",
        "is_current",
    ),
}


@dataclass(frozen=True)
class StageEntry:
    """One entry into a stage: which stage (and its pipeline), and when."""

    stage_id: uuid.UUID
    pipeline_id: uuid.UUID
    entered_at: datetime


@dataclass
class CrmBatch:
    """Rows for the four CRM tables, written together by ``write``."""

    rows: dict[str, list[tuple[Any, ...]]] = field(
        default_factory=lambda: {table: [] for table in _COLUMNS}
    )

    def pipeline(
        self, tenant_id: uuid.UUID, name: str, *, id: uuid.UUID | None = None
    ) -> uuid.UUID:
        pipeline_id = id or uuid.uuid4()
        self.rows["pipeline"].append((pipeline_id, tenant_id, name))
        return pipeline_id

    def stage(
        self,
        tenant_id: uuid.UUID,
        pipeline_id: uuid.UUID,
        name: str,
        order: int,
        state: str,
        *,
        id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        stage_id = id or uuid.uuid4()
        self.rows["pipeline_stage"].append((stage_id, tenant_id, pipeline_id, name, order, state))
        return stage_id

    def deal(
        self,
        tenant_id: uuid.UUID,
        *,
        pipeline_id: uuid.UUID | None,
        created_at: datetime,
        amount: Decimal | None = None,
        source: str | None = None,
        owned_by_user_id: uuid.UUID | None = None,
        owned_by_group_id: uuid.UUID | None = None,
        assigned_user_id: uuid.UUID | None = None,
        assigned_group_id: uuid.UUID | None = None,
        name: str = "deal",
        id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        deal_id = id or uuid.uuid4()
        self.rows["deal"].append(
            (
                deal_id,
                tenant_id,
                pipeline_id,
                name,
                amount,
                source,
                created_at,
                owned_by_user_id,
                owned_by_group_id,
                assigned_user_id,
                assigned_group_id,
            )
        )
        return deal_id

    def history(
        self,
        tenant_id: uuid.UUID,
        deal_id: uuid.UUID,
        entries: Sequence[StageEntry],
        *,
        current: bool = True,
    ) -> list[uuid.UUID]:
        """Stage entries in order; each exits when the next begins; the last is current."""
        ids = []
        for index, entry in enumerate(entries):
            is_last = index == len(entries) - 1
            exited_at = None if is_last else entries[index + 1].entered_at
            ids.append(
                self.entry(
                    tenant_id,
                    deal_id,
                    entry,
                    exited_at=exited_at,
                    is_current=is_last and current,
                )
            )
        return ids

    def entry(
        self,
        tenant_id: uuid.UUID,
        deal_id: uuid.UUID,
        entry: StageEntry,
        *,
        exited_at: datetime | None = None,
        is_current: bool = False,
        id: uuid.UUID | None = None,
    ) -> uuid.UUID:
        entry_id = id or uuid.uuid4()
        self.rows["deal_pipeline_stage_state"].append(
            (
                entry_id,
                tenant_id,
                deal_id,
                entry.pipeline_id,
                entry.stage_id,
                entry.entered_at,
                exited_at,
                is_current,
            )
        )
        return entry_id

    def row_count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())

    def write(self, conn: psycopg.Connection[Any], schema: str = "dyno_crm") -> int:
        """COPY every row into ``schema``'s CRM tables in one transaction; clears the batch."""
        written = 0
        with conn.transaction(), conn.cursor() as cur:
            for table, columns in _COLUMNS.items():
                rows = self.rows[table]
                if not rows:
                    continue
                statement = sql.SQL("copy {} ({}) from stdin").format(
                    sql.Identifier(schema, table),
                    sql.SQL(", ").join(map(sql.Identifier, columns)),
                )
                with cur.copy(statement) as copy:
                    for row in rows:
                        copy.write_row(row)
                written += len(rows)
                rows.clear()
        return written


def count_deals(conn: psycopg.Connection[Any], tenant_ids: Sequence[uuid.UUID]) -> tuple[int, int]:
    """(deals of ``tenant_ids``, deals of every other tenant) in the CRM source table."""
    with conn.transaction():
        row = conn.execute(
            "select count(*) filter (where tenant_id = any(%(tenants)s)),"
            " count(*) filter (where tenant_id <> all(%(tenants)s))"
            " from dyno_crm.deal",
            {"tenants": list(tenant_ids)},
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
