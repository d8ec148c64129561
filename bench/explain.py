"""EXPLAIN (ANALYZE, BUFFERS) of a case's facts statement and of its floor.

The facts statement is an INSERT, so it runs for real: inside a transaction that is
rolled back, after a throw-away run header (the fact tables reference it).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import psycopg

from bench.cases import Case
from bench.data import load_sql as load_bench_sql
from bench.runner import FLOOR_SQL, apply_floor_settings
from orchestration.reports.facts_statement import (
    apply_local_settings,
    facts_statement_settings,
    report_sql,
)
from orchestration.reports.parameters import AgingParameters, WinLossParameters


def _explain(conn: psycopg.Connection[Any], statement: str, params: dict[str, Any]) -> str:
    rows = conn.execute(
        "explain (analyze, buffers, costs off, timing on) " + statement, params, prepare=False
    ).fetchall()
    return "\n".join(str(row[0]) for row in rows)


def explain_facts(conn: psycopg.Connection[Any], case: Case) -> str:
    parameters: WinLossParameters | AgingParameters
    if case.report == "win_loss":
        parameters = WinLossParameters.validate(**case.params)
    else:
        parameters = AgingParameters.validate(**case.params)
    run_id = uuid.uuid4()
    try:
        with conn.transaction(force_rollback=True):
            row = conn.execute("select now()").fetchone()
            assert row is not None
            generated_at: datetime = row[0]
            conn.execute(
                "insert into dyno_crm.report_run (run_id, tenant_id, report_type, status)"
                " values (%s, %s, %s, 'IN_PROGRESS')",
                (run_id, parameters.tenant_id, parameters.report_type),
            )
            apply_local_settings(conn, facts_statement_settings(conn))
            params = {"run_id": run_id, **parameters.query_params(generated_at)}
            return _explain(conn, report_sql(parameters.facts_sql), params)
    finally:
        conn.rollback()


def explain_floor(conn: psycopg.Connection[Any], case: Case) -> str:
    try:
        apply_floor_settings(conn)
        return _explain(conn, load_bench_sql(FLOOR_SQL[case.report]), case.floor_params())
    finally:
        conn.rollback()
