"""dbt-bouncer custom check: every source has freshness, or says in meta why it cannot."""

from typing import Any

from dbt_bouncer.check_framework.decorator import check, fail


@check
def check_source_freshness_populated_or_exempt(source: Any) -> None:
    """Sources have a populated freshness, unless ``meta.freshness_exempt_reason`` says why not.

    dbt-bouncer's own check_source_freshness_populated can only exclude whole files, and
    PostgreSQL cannot measure freshness without a load timestamp column, which the CRM
    contract gives pipeline and pipeline_stage none of. The reason lives beside the source.
    """
    exempt_reason = (source.meta or {}).get("freshness_exempt_reason")
    if exempt_reason:
        return
    freshness = source.freshness
    populated = freshness is not None and any(
        threshold is not None and threshold.count is not None and threshold.period is not None
        for threshold in (freshness.warn_after, freshness.error_after)
    )
    if not populated:
        fail(
            f"`{source.source_name}.{source.name}` has no freshness and no"
            " meta.freshness_exempt_reason."
        )
