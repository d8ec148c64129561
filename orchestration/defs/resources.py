"""Dagster resources: the report database, reached through the same ``PG*`` variables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import psycopg

from orchestration.db import connect


class PostgresResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """psycopg 3 connections to the report database.

    Each field left unset falls back to its ``PG*`` variable (then the project's default),
    read when a connection is opened, so the same code location follows the environment
    it runs in, exactly as dbt's profile does.
    """

    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None
    dbname: str | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> PostgresResource:
        """A resource pinned to the database the given ``PG*`` mapping names."""
        port = environ.get("PGPORT")
        return cls(
            host=environ.get("PGHOST"),
            port=int(port) if port else None,
            user=environ.get("PGUSER"),
            password=environ.get("PGPASSWORD"),
            dbname=environ.get("PGDATABASE"),
        )

    def connect(self) -> psycopg.Connection[Any]:
        overrides: dict[str, Any] = {
            key: value
            for key, value in (
                ("host", self.host),
                ("port", self.port),
                ("user", self.user),
                ("password", self.password),
                ("dbname", self.dbname),
            )
            if value is not None
        }
        return connect(**overrides)
