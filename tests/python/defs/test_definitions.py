"""The code location loads: every job, the dbt assets with their tests as checks, the reports."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster_dbt import DbtProject

from orchestration.definitions import defs
from orchestration.defs.dbt_assets import dbt_asset_key, dyno_crm_dbt_assets
from orchestration.defs.dbt_project import manifest_is_stale, prepare_dbt_project
from orchestration.settings import PROJECT_DIR

pytestmark = pytest.mark.dagster

JOB_NAMES = (
    "deal_win_loss_report_job",
    "deal_aging_report_job",
    "dbt_build_job",
    "deal_retention_job",
)
MODELS = (
    "stg_dyno_crm__pipelines",
    "stg_dyno_crm__pipeline_stages",
    "stg_dyno_crm__deals",
    "stg_dyno_crm__deal_pipeline_stage_states",
    "int_earliest_stage",
    "int_closing_instances",
    "int_current_deals",
    "int_tenants",
)


@pytest.mark.parametrize("name", JOB_NAMES)
def test_every_job_resolves(name: str) -> None:
    assert defs.resolve_job_def(name).name == name


def test_both_schedules_are_registered_and_start_running() -> None:
    schedules = {
        schedule.name: defs.resolve_schedule_def(schedule.name) for schedule in defs.schedules or ()
    }
    assert set(schedules) == {"warehouse_refresh_schedule", "deal_retention_schedule"}
    assert schedules["deal_retention_schedule"].job_name == "deal_retention_job"
    for schedule in schedules.values():
        assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING


def test_the_dbt_models_and_both_reports_are_assets() -> None:
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    for model in MODELS:
        assert dg.AssetKey(model) in keys
    assert dg.AssetKey("deal_win_loss_report") in keys
    assert dg.AssetKey("deal_aging_report") in keys


def test_report_assets_are_downstream_of_the_models_they_read() -> None:
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("deal_win_loss_report")).parent_keys == {
        dbt_asset_key("int_closing_instances")
    }
    assert graph.get(dg.AssetKey("deal_aging_report")).parent_keys == {
        dbt_asset_key("int_current_deals")
    }


def test_dbt_tests_are_asset_checks_on_models_and_sources() -> None:
    checks = {(key.asset_key.to_user_string(), key.name) for key in dyno_crm_dbt_assets.check_keys}
    assert (
        "int_closing_instances",
        "unique_combination_of_columns_int_closing_instances_tenant_id__deal_id",
    ) in checks
    assert ("dyno_crm/deal_pipeline_stage_state", "one_current_stage_per_deal") in checks
    checked_models = {asset for asset, _ in checks}
    assert set(MODELS) <= checked_models


def test_the_report_jobs_select_only_their_report() -> None:
    for job, asset in (
        ("deal_win_loss_report_job", "deal_win_loss_report"),
        ("deal_aging_report_job", "deal_aging_report"),
    ):
        selected = defs.resolve_job_def(job).asset_layer.selected_asset_keys
        assert selected == {dg.AssetKey(asset)}
    dbt_selected = defs.resolve_job_def("dbt_build_job").asset_layer.selected_asset_keys
    assert dbt_selected == {dbt_asset_key(model) for model in MODELS}
    # Every check, the sources' too: dagster-dbt then runs the whole project, tests over two
    # sources included (test_scheduled_refresh shows one failing the build).
    dbt_checks = defs.resolve_job_def("dbt_build_job").asset_layer.asset_graph.asset_check_keys
    assert set(dyno_crm_dbt_assets.check_keys) <= dbt_checks
    assert any(key.asset_key.path[0] == "dyno_crm" for key in dbt_checks)


def test_pyproject_names_the_definitions_module_for_dagster_dev() -> None:
    import tomllib  # noqa: PLC0415

    document = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())
    assert document["tool"]["dagster"]["module_name"] == "orchestration.definitions"


def test_a_missing_or_outdated_manifest_is_parsed_again(tmp_path: Path) -> None:
    project_dir = tmp_path / "project"
    project_dir.mkdir()
    for name in ("dbt_project.yml", "profiles.example.yml"):
        (project_dir / name).write_text((PROJECT_DIR / name).read_text())
    for folder in ("models", "macros", "tests/dbt"):
        shutil.copytree(PROJECT_DIR / folder, project_dir / folder)
    project = DbtProject(project_dir=project_dir)
    assert manifest_is_stale(project)  # a fresh clone has none
    prepare_dbt_project(project)
    assert project.manifest_path.exists()
    assert not manifest_is_stale(project)
    later = time.time() + 5
    os.utime(project_dir / "dbt_project.yml", (later, later))
    assert manifest_is_stale(project)


def test_the_definitions_module_holds_exactly_one_definitions_object() -> None:
    # `dagster job execute -m` and `dagster dev` refuse a module with two.
    import orchestration.definitions as module  # noqa: PLC0415

    found = [name for name, value in vars(module).items() if isinstance(value, dg.Definitions)]
    assert found == ["defs"]
