"""The dbt project as Dagster assets; its tests become asset checks."""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
    get_asset_key_for_model,
)

from orchestration.defs.dbt_project import dbt_project
from orchestration.defs.resources import PostgresResource
from orchestration.warehouse.build_lock import build_lock

# Source tests (keys, accepted stage states, one current stage per deal) become checks on
# the source assets too, so a broken warehouse load is visible where it enters.
dbt_translator = DagsterDbtTranslator(
    settings=DagsterDbtTranslatorSettings(
        enable_asset_checks=True,
        enable_source_tests_as_checks=True,
    )
)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=dbt_translator,
)
def dyno_crm_dbt_assets(
    context: AssetExecutionContext, dbt: DbtCliResource, postgres: PostgresResource
) -> Iterator[Any]:
    """`dbt build` of the selected models: each model, then its tests."""
    # The same build lock as `dyno-reports build`: one build at a time, whoever starts it.
    with postgres.connect() as conn, build_lock(conn, context.log.warning):
        yield from dbt.cli(["build"], context=context).stream()


def dbt_asset_key(model_name: str) -> dg.AssetKey:
    """The asset key dagster-dbt gives the model ``model_name``."""
    return get_asset_key_for_model([dyno_crm_dbt_assets], model_name)
