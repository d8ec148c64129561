"""Where the project's files live and which database it talks to.

The database comes from the standard libpq ``PG*`` variables only. Where one is unset, the
same default applies to dbt (``profiles.example.yml``) and to Python, so that both always
reach the same database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

# Schema the dbt models are built in (profiles.example.yml: ``schema``).
MODELS_SCHEMA = "dyno_crm_analytics"

PG_DEFAULTS: Mapping[str, str] = {
    "PGHOST": "localhost",
    "PGPORT": "5432",
    "PGUSER": "postgres",
    "PGDATABASE": "postgres",
}

_LIBPQ_KEYWORDS: Mapping[str, str] = {
    "PGHOST": "host",
    "PGPORT": "port",
    "PGUSER": "user",
    "PGDATABASE": "dbname",
    "PGPASSWORD": "password",
    "PGSSLMODE": "sslmode",
    "PGOPTIONS": "options",
    "PGAPPNAME": "application_name",
    "PGCONNECT_TIMEOUT": "connect_timeout",
}


def pg_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The ``PG*`` variables in effect: those set, plus the project defaults for the rest."""
    env = os.environ if environ is None else environ
    effective = dict(PG_DEFAULTS)
    effective.update({key: value for key, value in env.items() if key.startswith("PG") and value})
    return effective


def connection_keywords(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """libpq keywords for the effective ``PG*`` variables."""
    effective = pg_environment(environ)
    return {
        keyword: effective[name] for name, keyword in _LIBPQ_KEYWORDS.items() if name in effective
    }
