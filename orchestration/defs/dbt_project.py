"""The dbt project as dagster-dbt sees it, with a manifest that exists on a fresh clone.

dagster-dbt's documented way, ``DbtProject.prepare_if_dev()``, parses the project only under
``dagster dev``. Definitions are also loaded by the tests, the CLI, the demo and
``dagster job execute``, so the manifest is additionally (re)parsed whenever it is missing
or older than a project file; a deployment that ships a fresh manifest parses nothing.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.settings import PROJECT_DIR
from orchestration.warehouse.dbt_cli import dbt_executable, ensure_dbt_profile

# Everything dbt reads to build the manifest (dbt_project.yml's paths).
_PROJECT_SOURCES = ("dbt_project.yml", "models", "macros", "tests/dbt")


def _project_files(project_dir: Path) -> Iterator[Path]:
    for name in _PROJECT_SOURCES:
        path = project_dir / name
        if path.is_file():
            yield path
        elif path.is_dir():
            yield from (child for child in path.rglob("*") if child.is_file())


def manifest_is_stale(project: DbtProject) -> bool:
    """True when the manifest is missing or older than any file dbt parses."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    return any(path.stat().st_mtime > built for path in _project_files(project.project_dir))


def put_dbt_on_path() -> None:
    """Let dagster-dbt find ``dbt`` when the virtualenv is used without being activated.

    ``.venv/bin/dagster dev`` runs with the venv's Python but the user's PATH; dagster-dbt's
    preparer looks ``dbt`` up on PATH. Prepending the running Python's folder is what
    activating the virtualenv would do.
    """
    executable = Path(dbt_executable())
    if shutil.which("dbt") is None and executable.is_absolute():
        os.environ["PATH"] = os.pathsep.join([str(executable.parent), os.environ.get("PATH", "")])


def prepare_dbt_project(project: DbtProject) -> DbtProject:
    """Make ``project.manifest_path`` current; return the project."""
    put_dbt_on_path()
    # The profile reads PG* with defaults, so parsing needs profiles.yml but no database.
    ensure_dbt_profile(project.project_dir)
    project.prepare_if_dev()
    if manifest_is_stale(project):
        # The preparer runs `dbt parse` under a lock file, so concurrent loaders
        # (a test session and `dagster dev`) do not write the manifest at once.
        project.preparer.prepare(project)
    return project


dbt_project = prepare_dbt_project(DbtProject(project_dir=PROJECT_DIR, profiles_dir=PROJECT_DIR))
