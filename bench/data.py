"""Deterministic scale data for the benchmark.

A ``Dataset`` is a seed and a list of tenant sizes. Every id is the md5 of the seed and a
name (``bench.uid`` in SQL computes the same), so Python knows the ids of tenants,
pipelines, stages, users and groups without reading them back. The small dimension tables
are written with COPY (``CrmBatch``); the deals and stage histories are generated on the
server by ``bench/sql/*.sql`` from hashes of the seed, so a million deals never pass
through Python and the same seed gives the same rows.

A marker table ``bench.dataset`` records what the database holds; a later run with the
same seed and scale reuses it.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

import psycopg
from psycopg import sql

from orchestration.warehouse.crm_batch import CrmBatch
from orchestration.warehouse.storage import create_source_tables, ensure_report_storage

SQL_DIR: Final = Path(__file__).resolve().parent / "sql"
SOURCE_TABLES: Final = ("pipeline", "pipeline_stage", "deal", "deal_pipeline_stage_state")
PIPELINES_PER_TENANT: Final = 3
USERS_PER_TENANT: Final = 20
GROUPS_PER_TENANT: Final = 5
SOURCES: Final = ("web", "referral", "partner", "event", "cold call")
# Stage numbers 1..5 of every pipeline: (name, stage_state); the order is stage_order.
STAGES: Final = (
    ("Lead", "NOT_STARTED"),
    ("Qualified", "IN_PROGRESS"),
    ("Proposal", "IN_PROGRESS"),
    ("Won", "DONE_SUCCESS"),
    ("Lost", "DONE_FAILED"),
)
SCALES: Final[dict[str, tuple[int, ...]]] = {
    # one large tenant first, then the small ones
    "full": (500_000, *([10_000] * 49)),
    "small": (50_000, *([2_000] * 9)),
    "tiny": (600, 150, 150),
}
DEFAULT_SEED: Final = 20251123


@cache
def load_sql(name: str) -> str:
    return (SQL_DIR / name).read_text(encoding="utf-8")


def uid(seed: int, name: str) -> uuid.UUID:
    """``bench.uid(seed, name)``: md5 of ``'<seed>/<name>'`` as a UUID."""
    return uuid.UUID(hashlib.md5(f"{seed}/{name}".encode(), usedforsecurity=False).hexdigest())


@dataclass(frozen=True)
class Dataset:
    """What to generate: a seed and the deal count of each tenant (tenant 1 first)."""

    scale: str
    seed: int = DEFAULT_SEED

    @property
    def deal_counts(self) -> tuple[int, ...]:
        return SCALES[self.scale]

    @property
    def tenant_numbers(self) -> range:
        return range(1, len(self.deal_counts) + 1)

    def tenant_id(self, tenant: int) -> uuid.UUID:
        return uid(self.seed, f"tenant/{tenant}")

    def pipeline_id(self, tenant: int, pipeline: int) -> uuid.UUID:
        return uid(self.seed, f"pipeline/{tenant}/{pipeline}")

    def stage_id(self, tenant: int, pipeline: int, stage: int) -> uuid.UUID:
        return uid(self.seed, f"stage/{tenant}/{pipeline}/{stage}")

    def user_id(self, tenant: int, user: int) -> uuid.UUID:
        return uid(self.seed, f"user/{tenant}/{user}")

    def group_id(self, tenant: int, group: int) -> uuid.UUID:
        return uid(self.seed, f"group/{tenant}/{group}")

    def dimensions(self) -> CrmBatch:
        """Pipelines and stages of every tenant, as COPY-ready rows."""
        batch = CrmBatch()
        for tenant in self.tenant_numbers:
            tenant_id = self.tenant_id(tenant)
            for pipeline in range(PIPELINES_PER_TENANT):
                pipeline_id = batch.pipeline(
                    tenant_id, f"Pipeline {pipeline}", id=self.pipeline_id(tenant, pipeline)
                )
                for order, (name, state) in enumerate(STAGES, start=1):
                    batch.stage(
                        tenant_id,
                        pipeline_id,
                        name,
                        order,
                        state,
                        id=self.stage_id(tenant, pipeline, order),
                    )
        return batch


@dataclass(frozen=True)
class Generation:
    """What ``ensure_dataset`` did."""

    reused: bool
    seconds: float
    deals: int
    stage_rows: int


def ensure_dataset(conn: psycopg.Connection[Any], dataset: Dataset) -> Generation:
    """Make the database hold ``dataset``: reuse it if the marker says so, else regenerate."""
    started = time.perf_counter()
    marker = _marker(conn)
    if marker == (dataset.seed, dataset.scale):
        deals, stage_rows = _counts(conn)
        return Generation(True, time.perf_counter() - started, deals, stage_rows)
    generate(conn, dataset)
    deals, stage_rows = _counts(conn)
    return Generation(False, time.perf_counter() - started, deals, stage_rows)


def generate(conn: psycopg.Connection[Any], dataset: Dataset) -> None:
    """Replace the CRM data, the models and the report storage with ``dataset``'s."""
    with conn.transaction():
        for schema in ("bench", "dyno_crm_analytics", "dyno_crm"):
            conn.execute(sql.SQL("drop schema if exists {} cascade").format(sql.Identifier(schema)))
        conn.execute(load_sql("functions.sql"))
    create_source_tables(conn)
    ensure_report_storage(conn)
    with conn.transaction():
        # Loading into index-free tables and indexing afterwards (one sort per index) is
        # several times faster than maintaining random-UUID btrees row by row.
        conn.execute("set local maintenance_work_mem = '512MB'")
        conn.execute("set local synchronous_commit = off")
        indexes = _drop_indexes(conn)
        dataset.dimensions().write(conn)  # COPY, as a savepoint of this transaction
        conn.execute(
            "create table bench.tenant ("
            " tenant_no integer primary key, tenant_id uuid not null, deal_count integer not null)"
        )
        with conn.cursor().copy(
            "copy bench.tenant (tenant_no, tenant_id, deal_count) from stdin"
        ) as copy:
            for tenant, deals in zip(dataset.tenant_numbers, dataset.deal_counts, strict=True):
                copy.write_row((tenant, dataset.tenant_id(tenant), deals))
        conn.execute(load_sql("deal_plan.sql"), {"seed": dataset.seed})
        conn.execute(load_sql("generate_deals.sql"), {"seed": dataset.seed})
        conn.execute(load_sql("generate_stage_states.sql"), {"seed": dataset.seed})
        conn.execute("drop table bench.deal_plan")
        for statement in indexes:
            conn.execute(statement)
        conn.execute(
            "create table bench.dataset ("
            " seed integer not null, scale text not null,"
            " generated_at timestamptz not null default now())"
        )
        conn.execute(
            "insert into bench.dataset (seed, scale) values (%s, %s)",
            (dataset.seed, dataset.scale),
        )
    for table in SOURCE_TABLES:
        conn.execute(sql.SQL("analyze {}").format(sql.Identifier("dyno_crm", table)))
    conn.commit()


def _drop_indexes(conn: psycopg.Connection[Any]) -> list[sql.SQL | sql.Composed]:
    """Drop the source tables' keys and indexes; return the statements that restore them."""
    restore: list[sql.SQL | sql.Composed] = []
    constraints = conn.execute(
        "select cl.relname, co.conname, pg_get_constraintdef(co.oid)"
        " from pg_constraint as co"
        " inner join pg_class as cl on co.conrelid = cl.oid"
        " inner join pg_namespace as ns on cl.relnamespace = ns.oid"
        " where ns.nspname = 'dyno_crm' and cl.relname = any(%s) and co.contype in ('p', 'u')",
        (list(SOURCE_TABLES),),
    ).fetchall()
    indexes = conn.execute(
        "select ix.indexname, ix.indexdef from pg_indexes as ix"
        " where ix.schemaname = 'dyno_crm' and ix.tablename = any(%s)"
        " and not exists (select from pg_constraint as co where co.conname = ix.indexname)",
        (list(SOURCE_TABLES),),
    ).fetchall()
    for table, name, definition in constraints:
        relation = sql.Identifier("dyno_crm", table)
        conn.execute(
            sql.SQL("alter table {} drop constraint {}").format(relation, sql.Identifier(name))
        )
        restore.append(
            sql.SQL("alter table {} add constraint {} {}").format(
                relation, sql.Identifier(name), sql.SQL(definition)
            )
        )
    for name, definition in indexes:
        conn.execute(sql.SQL("drop index {}").format(sql.Identifier("dyno_crm", name)))
        restore.append(sql.SQL(definition))
    return restore


def _marker(conn: psycopg.Connection[Any]) -> tuple[int, str] | None:
    with conn.transaction():
        exists = conn.execute("select to_regclass('bench.dataset') is not null").fetchone()
        if not exists or not exists[0]:
            return None
        row = conn.execute("select seed, scale from bench.dataset").fetchone()
    return (int(row[0]), str(row[1])) if row else None


def _counts(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    with conn.transaction():
        row = conn.execute(
            "select (select count(*) from dyno_crm.deal),"
            " (select count(*) from dyno_crm.deal_pipeline_stage_state)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])
