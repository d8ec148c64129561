"""Opening connections to the database named by the ``PG*`` variables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import psycopg

from orchestration.settings import connection_keywords


def connect(environ: Mapping[str, str] | None = None, **kwargs: Any) -> psycopg.Connection[Any]:
    """A psycopg 3 connection to the ``PG*`` database, with the project's defaults."""
    return psycopg.connect(**{**connection_keywords(environ), **kwargs})
