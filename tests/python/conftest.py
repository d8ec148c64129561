"""Shared fixtures: a real PostgreSQL, a fresh database per session, one dbt build.

The server is the one the ``PG*`` variables name when ``PGHOST`` is set, otherwise an
embedded PostgreSQL in ``.dyno/pgdata-test`` (stopped when the session ends). Either way
the session creates its own database, so tests never touch existing data.

Every test that reaches the server (through ``server_env``, which every database fixture
depends on) is marked ``db`` here; ``dagster``, ``browser`` and ``slow`` are set by the
modules themselves. ``make test-fast`` deselects all four.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg import sql

from orchestration.db import connect
from orchestration.demo.embedded_postgres import start_embedded_postgres
from orchestration.demo.sample_data import load_sample_data
from orchestration.demo.walkthrough import demo_until
from orchestration.settings import PROJECT_DIR, pg_environment
from orchestration.warehouse.crm_batch import CrmBatch
from orchestration.warehouse.dbt_cli import run_dbt
from orchestration.warehouse.storage import create_source_tables, ensure_report_storage

import scenarios
from robustness_figures import FIGURES

Env = dict[str, str]


@pytest.fixture(scope="session")
def server_env() -> Env:
    if os.environ.get("PGHOST"):
        return pg_environment()
    return start_embedded_postgres(PROJECT_DIR / ".dyno" / "pgdata-test", keep_running=False)


def create_database(server: Env, prefix: str) -> Env:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    return {**server, "PGDATABASE": name}


def drop_database(server: Env, env: Env) -> None:
    with connect(server, autocommit=True) as admin:
        admin.execute(
            sql.SQL("drop database if exists {} with (force)").format(
                sql.Identifier(env["PGDATABASE"])
            )
        )


def create_demo_database(server: Env, prefix: str) -> Env:
    """A new database holding the demo's sample data (three tenants, a year to today), with
    the report storage and the dbt project built on it; drop it with ``drop_database``."""
    env = create_database(server, prefix)
    with connect(env) as conn:
        create_source_tables(conn)
        ensure_report_storage(conn)
        load_sample_data(conn, until=demo_until())
    run_dbt(["build"], environ=env)
    return env


@pytest.fixture(scope="session")
def empty_database(server_env: Env) -> Iterator[Env]:
    """A new database with the CRM source tables and report storage, nothing else."""
    env = create_database(server_env, "dyno_test")
    with connect(env) as conn:
        create_source_tables(conn)
        ensure_report_storage(conn)
    yield env
    drop_database(server_env, env)


@pytest.fixture(scope="session")
def built_env(server_env: Env) -> Iterator[Env]:
    """A database holding every scenario, with the dbt project built (and tested) on it."""
    env = create_database(server_env, "dyno_test")
    with connect(env) as conn:
        create_source_tables(conn)
        ensure_report_storage(conn)
        batch = CrmBatch()
        scenarios.load_all(batch, now=datetime.now(UTC))
        batch.write(conn)
    run_dbt(["build"], environ=env)
    yield env
    drop_database(server_env, env)


@pytest.fixture
def conn(built_env: Env) -> Iterator[psycopg.Connection[Any]]:
    with connect(built_env) as connection:
        yield connection


def point_pg_at(monkeypatch: pytest.MonkeyPatch, env: Env) -> None:
    """Set the PG* variables to ``env`` for one test: what reads them when it connects (the
    Dagster resources, dbt, the CLI) then reaches that database, as it would in production."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def pg_env(built_env: Env, monkeypatch: pytest.MonkeyPatch) -> Env:
    """``built_env``, also in the PG* variables (see ``point_pg_at``)."""
    point_pg_at(monkeypatch, built_env)
    return built_env


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "server_env" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.db)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The fault-and-load figures the robustness tests counted (see robustness_figures)."""
    if not FIGURES.counted():
        return
    terminalreporter.section("robustness figures")
    for line in FIGURES.lines():
        terminalreporter.write_line(line)
