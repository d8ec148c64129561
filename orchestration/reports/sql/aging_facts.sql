-- Deal Aging facts of one run (the seeds' report query, set-based). Reads
-- int_current_deals through the transaction's search_path. Days are fractional:
-- seconds between the as-of time and the stage entry (or deal creation) / 86400,
-- never below 0; "more than N days" is therefore "entered before as-of minus N * 86400 s".
-- An omitted filter is a NULL parameter; the statement is executed unprepared, so the
-- planner folds "NULL is null or ..." away.
--
-- Shape (docs/performance.md, plan choice 3): the tenant's (pipeline, stage) groups are
-- found by a loose index scan, then each group is aggregated from its own range of the
-- (tenant_id, pipeline_id, stage_id, stage_entered_at desc) index. Rows then arrive grouped
-- and, within a group, in the median's order: no sort of the period's rows, which took
-- about half of the statement's time when they were read by time and sorted by group.
insert into dyno_crm.report_deal_aging_fact (
    run_id,
    tenant_id,
    pipeline_id,
    principal_type,
    principal_id,
    stage_id,
    threshold_days,
    cycle_threshold_days,
    at_risk_deal_count,
    at_risk_amount,
    avg_days_in_stage,
    median_days_in_stage,
    total_deal_count,
    total_amount,
    percent_at_risk
)

with recursive

-- Loose index scan: each step is one descent of the (tenant_id, pipeline_id, stage_id, ...)
-- index to the next group, instead of reading every open deal of the tenant. A row
-- comparison with a NULL pipeline is never true, and NULLs sort last, so the groups of
-- deals without a pipeline are walked on their own below.
pipeline_groups (pipeline_id, stage_id) as (
    (
        select
            pipeline_id,
            stage_id
        from int_current_deals
        where
            tenant_id = %(tenant_id)s::uuid
            and pipeline_id is not null
        order by pipeline_id asc, stage_id asc
        limit 1
    )

    union all

    select
        next_group.pipeline_id,
        next_group.stage_id
    from pipeline_groups
    cross join lateral (
        select
            int_current_deals.pipeline_id,
            int_current_deals.stage_id
        from int_current_deals
        where
            int_current_deals.tenant_id = %(tenant_id)s::uuid
            and (int_current_deals.pipeline_id, int_current_deals.stage_id)
            > (pipeline_groups.pipeline_id, pipeline_groups.stage_id)
        order by int_current_deals.pipeline_id asc, int_current_deals.stage_id asc
        limit 1
    ) as next_group
),

no_pipeline_groups (stage_id) as (
    (
        select stage_id
        from int_current_deals
        where
            tenant_id = %(tenant_id)s::uuid
            and pipeline_id is null
        -- the index order (pipeline_id first): ordering by stage_id alone would sort
        order by pipeline_id asc, stage_id asc
        limit 1
    )

    union all

    select next_group.stage_id
    from no_pipeline_groups
    cross join lateral (
        select int_current_deals.stage_id
        from int_current_deals
        where
            int_current_deals.tenant_id = %(tenant_id)s::uuid
            and int_current_deals.pipeline_id is null
            and int_current_deals.stage_id > no_pipeline_groups.stage_id
        order by int_current_deals.pipeline_id asc, int_current_deals.stage_id asc
        limit 1
    ) as next_group
),

-- Referenced by both fact CTEs below: not materialized, so that each group's conditions
-- become index conditions of its scan.
open_deals as not materialized (
    select
        pipeline_id,
        stage_id,
        coalesce(amount, 0) as amount,
        stage_entered_at,
        stage_entered_epoch_us,
        deal_created_at
    from int_current_deals
    where
        tenant_id = %(tenant_id)s::uuid
        and (
            %(period_start)s::timestamptz is null
            or stage_entered_at >= %(period_start)s::timestamptz
        )
        and (
            %(period_end)s::timestamptz is null
            or stage_entered_at < %(period_end)s::timestamptz
        )
        and (%(pipeline_id)s::uuid is null or pipeline_id = %(pipeline_id)s::uuid)
        and (%(stage_id)s::uuid is null or stage_id = %(stage_id)s::uuid)
        and (
            %(principal_type)s::varchar is null
            or (
                %(principal_type)s::varchar = 'USER'
                and %(principal_id)s::uuid in (owned_by_user_id, assigned_user_id)
            )
            or (
                %(principal_type)s::varchar = 'GROUP'
                and %(principal_id)s::uuid in (owned_by_group_id, assigned_group_id)
            )
        )
),

-- A stage's own threshold (stage_threshold_days), else threshold_days.
stage_thresholds as (
    select
        given.stage_id,
        given.threshold_days
    from
        unnest(
            %(threshold_stage_ids)s::uuid[], %(threshold_stage_days)s::integer[]
        ) as given (stage_id, threshold_days)
),

-- The default threshold and the as-of time, for the groups below.
run_threshold as (
    select
        %(threshold_days)s::integer as threshold_days,
        %(as_of)s::timestamptz as as_of_time
),

-- Time in stage in microseconds: bigint arithmetic, exact and allocation-free, instead of
-- numeric epoch division on every row (docs/performance.md); days once per group below.
-- The as-of values are scalar subqueries, computed once: as expressions of a stable
-- (time-zone dependent) function they would be evaluated again for every row.
aged as not materialized (
    select
        pipeline_id,
        stage_id,
        amount,
        stage_entered_at,
        greatest(
            0,
            (select (extract(epoch from %(as_of)s::timestamptz) * 1000000)::bigint)
            - stage_entered_epoch_us
        ) as us_in_stage,
        -- more than N days (of 86400 s) since creation, compared exactly; NULL (not at risk,
        -- in the filters below) when cycle_threshold_days is not given
        deal_created_at < (
            select
                %(as_of)s::timestamptz
                - %(cycle_threshold_days)s::integer * interval '86400 seconds'
        ) as is_cycle_at_risk
    from open_deals
),

-- One aggregate per group over its own index range, already in the median's order
-- (stage_entered_at desc is time in stage ascending). The two fact CTEs differ only in how
-- a group's rows are matched (= for a pipeline, IS NULL for none): a single CTE matching
-- both through a gated UNION measured slower (docs/performance.md, the aging walk).
pipeline_facts as (
    select
        pipeline_groups.pipeline_id,
        pipeline_groups.stage_id,
        coalesce(stage_thresholds.threshold_days, run_threshold.threshold_days) as threshold_days,
        group_facts.*
    from pipeline_groups
    cross join run_threshold
    left join stage_thresholds
        on pipeline_groups.stage_id = stage_thresholds.stage_id
    cross join lateral (
        select
            -- the group's cutoff, a scalar subquery: computed once per group, not per row
            count(*) filter (
                where
                aged.stage_entered_at < (
                    select
                        run_threshold.as_of_time
                        - coalesce(stage_thresholds.threshold_days, run_threshold.threshold_days)
                        * interval '86400 seconds' as stage_cutoff
                )
                or aged.is_cycle_at_risk
            ) as at_risk_count,
            coalesce(
                sum(aged.amount) filter (
                    where
                    aged.stage_entered_at < (
                        select
                            run_threshold.as_of_time
                            - coalesce(
                                stage_thresholds.threshold_days, run_threshold.threshold_days
                            )
                            * interval '86400 seconds' as stage_cutoff
                    )
                    or aged.is_cycle_at_risk
                ),
                0
            ) as at_risk_amount,
            sum(aged.us_in_stage) as total_us_in_stage,
            percentile_cont(0.5) within group (
                order by aged.us_in_stage
            ) as median_us_in_stage,
            count(*) as total_count,
            sum(aged.amount) as total_amount
        from aged
        where
            aged.pipeline_id = pipeline_groups.pipeline_id
            and aged.stage_id = pipeline_groups.stage_id
    ) as group_facts
),

no_pipeline_facts as (
    select
        null::uuid as pipeline_id,
        no_pipeline_groups.stage_id,
        coalesce(stage_thresholds.threshold_days, run_threshold.threshold_days) as threshold_days,
        group_facts.*
    from no_pipeline_groups
    cross join run_threshold
    left join stage_thresholds
        on no_pipeline_groups.stage_id = stage_thresholds.stage_id
    cross join lateral (
        select
            -- the group's cutoff, a scalar subquery: computed once per group, not per row
            count(*) filter (
                where
                aged.stage_entered_at < (
                    select
                        run_threshold.as_of_time
                        - coalesce(stage_thresholds.threshold_days, run_threshold.threshold_days)
                        * interval '86400 seconds' as stage_cutoff
                )
                or aged.is_cycle_at_risk
            ) as at_risk_count,
            coalesce(
                sum(aged.amount) filter (
                    where
                    aged.stage_entered_at < (
                        select
                            run_threshold.as_of_time
                            - coalesce(
                                stage_thresholds.threshold_days, run_threshold.threshold_days
                            )
                            * interval '86400 seconds' as stage_cutoff
                    )
                    or aged.is_cycle_at_risk
                ),
                0
            ) as at_risk_amount,
            sum(aged.us_in_stage) as total_us_in_stage,
            percentile_cont(0.5) within group (
                order by aged.us_in_stage
            ) as median_us_in_stage,
            count(*) as total_count,
            sum(aged.amount) as total_amount
        from aged
        where
            aged.pipeline_id is null
            and aged.stage_id = no_pipeline_groups.stage_id
    ) as group_facts
),

-- Groups without a deal in the period or the filters aggregate to a count of 0: no row.
per_stage as (
    select * from pipeline_facts
    where total_count > 0
    union all
    select * from no_pipeline_facts
    where total_count > 0
)

select
    %(run_id)s::uuid as run_id,
    %(tenant_id)s::uuid as tenant_id,
    pipeline_id,
    %(principal_type)s::varchar(5) as principal_type,
    %(principal_id)s::uuid as principal_id,
    stage_id,
    threshold_days,
    %(cycle_threshold_days)s::integer as cycle_threshold_days,
    at_risk_count,
    at_risk_amount,
    total_us_in_stage / (total_count * 86400000000) as avg_days_in_stage,
    median_us_in_stage::numeric / 86400000000 as median_days_in_stage,
    total_count,
    total_amount,
    at_risk_count::numeric / total_count as percent_at_risk
from per_stage
