"""dbt and Python resolve the PG* variables to the same database."""

from __future__ import annotations

import re

from orchestration.settings import MODELS_SCHEMA, PG_DEFAULTS, PROJECT_DIR, connection_keywords


def test_the_dbt_profile_uses_the_same_defaults_and_schema_as_python() -> None:
    profile = (PROJECT_DIR / "profiles.example.yml").read_text()
    defaults = dict(re.findall(r"env_var\('(PG\w+)', '([^']*)'\)", profile))
    for name, value in PG_DEFAULTS.items():
        assert defaults[name] == value, name
    assert re.search(rf"^\s+schema: {MODELS_SCHEMA}$", profile, re.MULTILINE)


def test_set_variables_win_over_defaults() -> None:
    keywords = connection_keywords({"PGHOST": "/run/sock", "PGPORT": "6543", "PGPASSWORD": "s"})
    assert keywords == {
        "host": "/run/sock",
        "port": "6543",
        "user": "postgres",
        "dbname": "postgres",
        "password": "s",
    }
