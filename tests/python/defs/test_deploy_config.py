"""deploy/dagster.yaml is a working production instance: PostgreSQL storage, queued runs."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from dagster import DagsterInstance
from dagster._core.run_coordinator import QueuedRunCoordinator

from orchestration.defs.partitions import TENANTS_PARTITIONS_NAME
from orchestration.settings import PROJECT_DIR

from conftest import Env, create_database, drop_database

pytestmark = pytest.mark.dagster


@pytest.fixture
def dagster_storage_db(server_env: Env) -> Iterator[Env]:
    env = create_database(server_env, "dyno_test_dagster")
    yield env
    drop_database(server_env, env)


def test_the_production_instance_config_stores_in_postgres_and_queues_per_tenant(
    dagster_storage_db: Env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(PROJECT_DIR / "deploy" / "dagster.yaml", tmp_path / "dagster.yaml")
    host = dagster_storage_db["PGHOST"]
    # dagster-postgres builds a URL; a unix-socket directory cannot be its host part, so it
    # is left empty and libpq takes the socket from PGHOST (as docs/deployment.md explains).
    monkeypatch.setenv("DAGSTER_PG_HOST", "" if host.startswith("/") else host)
    monkeypatch.setenv("PGHOST", host)
    monkeypatch.setenv("DAGSTER_PG_PORT", dagster_storage_db["PGPORT"])
    monkeypatch.setenv("DAGSTER_PG_USER", dagster_storage_db["PGUSER"])
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", dagster_storage_db.get("PGPASSWORD", ""))
    monkeypatch.setenv("DAGSTER_PG_DB", dagster_storage_db["PGDATABASE"])

    instance = DagsterInstance.from_config(str(tmp_path))
    try:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, QueuedRunCoordinator)
        limits = coordinator.get_run_queue_config().tag_concurrency_limits
        per_tenant = {"value": {"applyLimitPerUniqueValue": True}, "limit": 1}
        assert {"key": "dagster/partition", **per_tenant} in limits
        assert {"key": "dagster/partition/tenant", **per_tenant} in limits
        # the storage is real: what is written can be read back
        instance.add_dynamic_partitions(TENANTS_PARTITIONS_NAME, ["t1", "t2"])
        assert instance.get_dynamic_partitions(TENANTS_PARTITIONS_NAME) == ["t1", "t2"]
        assert instance.run_monitoring_enabled
    finally:
        instance.dispose()
