"""Running the dbt project from Python, against the ``PG*`` database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from orchestration.settings import PROJECT_DIR, pg_environment


class DbtCommandError(RuntimeError):
    """dbt exited non-zero; the message carries the end of its output."""


def ensure_dbt_profile(project_dir: Path = PROJECT_DIR) -> Path:
    """The profiles directory, after creating ``profiles.yml`` from the example if missing."""
    profile = project_dir / "profiles.yml"
    if not profile.exists():
        shutil.copyfile(project_dir / "profiles.example.yml", profile)
    return project_dir


def dbt_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process environment for dbt, with every ``PG*`` default made explicit."""
    base = dict(os.environ if environ is None else environ)
    base.update(pg_environment(environ))
    base["DBT_PROFILES_DIR"] = str(ensure_dbt_profile())
    base.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    # dbt's output is captured (messages, logs): colour codes would only be noise in them.
    base.setdefault("DBT_USE_COLORS", "false")
    return base


def dbt_executable() -> str:
    beside_python = Path(sys.executable).with_name("dbt")
    return str(beside_python) if beside_python.exists() else "dbt"


def run_dbt(
    args: Sequence[str],
    environ: Mapping[str, str] | None = None,
    *,
    accepted_exit_codes: Sequence[int] = (0,),
) -> str:
    """Run ``dbt ARGS`` in the project; return its output.

    Raises ``DbtCommandError`` unless dbt exits with one of ``accepted_exit_codes`` (dbt
    exits 1 when a test or freshness check fails, 2 when it could not run at all).
    """
    completed = subprocess.run(  # noqa: S603 - fixed executable, arguments from our code
        [dbt_executable(), *args],
        cwd=PROJECT_DIR,
        env=dbt_environment(environ),
        capture_output=True,
        text=True,
        check=False,
    )
    output = completed.stdout + completed.stderr
    if completed.returncode not in accepted_exit_codes:
        tail = "\n".join(output.strip().splitlines()[-40:])
        raise DbtCommandError(f"dbt {' '.join(args)} failed (exit {completed.returncode}):\n{tail}")
    return output
