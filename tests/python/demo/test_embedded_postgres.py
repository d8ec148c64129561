"""The embedded server's life as the demo leaves it: it outlives the demo's process, and
`dyno-reports demo --stop` (``stop_embedded_postgres``) stops it later from another one.

On a data directory of its own, never the demo's: a developer's demo server stays untouched.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from orchestration.db import connect
from orchestration.settings import PROJECT_DIR

from conftest import Env

pytestmark = [pytest.mark.db, pytest.mark.slow]


def in_new_process(code: str, data_dir: Path) -> str:
    """Run ``code`` in a fresh interpreter, as the CLI would be: ``data_dir`` is bound."""
    result = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [
            sys.executable,
            "-c",
            f"from pathlib import Path\ndata_dir = Path({str(data_dir)!r})\n{code}",
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
        timeout=180,
    )
    return result.stdout.strip().splitlines()[-1]


START = """
import json
from orchestration.demo.embedded_postgres import start_embedded_postgres
print(json.dumps(start_embedded_postgres(data_dir, keep_running=True)))
"""
STOP = """
from orchestration.demo.embedded_postgres import stop_embedded_postgres
print(stop_embedded_postgres(data_dir))
"""


@pytest.fixture
def data_dir() -> Iterator[Path]:
    path = PROJECT_DIR / ".dyno" / f"stop-{secrets.token_hex(4)}"
    path.parent.mkdir(exist_ok=True)
    try:
        yield path
    finally:
        if (path / "postmaster.pid").exists():
            in_new_process(STOP, path)
        shutil.rmtree(path, ignore_errors=True)


def answers(env: Env) -> bool:
    try:
        with connect(env) as conn:
            return conn.execute("select 1").fetchone() == (1,)
    except psycopg.OperationalError:
        return False


def test_the_server_outlives_its_starter_and_stops_from_another_process(data_dir: Path) -> None:
    env: Env = json.loads(in_new_process(START, data_dir))
    assert answers(env), "the server should outlive the process that started it"
    assert (data_dir / "postmaster.pid").exists()

    assert in_new_process(STOP, data_dir) == "True"
    assert not (data_dir / "postmaster.pid").exists()
    assert not answers(env)
    assert (data_dir / "PG_VERSION").exists(), "stopping keeps the data"

    assert in_new_process(STOP, data_dir) == "False", "a second stop finds nothing running"
