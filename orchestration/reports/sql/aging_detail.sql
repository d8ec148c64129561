-- Deal Aging facts of one run with the deals behind them, or with totals and a breakdown
-- (the seeds' rows alone, without deals, come from aging_facts.sql: the same numbers from a
-- group-by-group walk). Every open deal of the run is read once, aged, stored (store_deals)
-- and aggregated; no deal row leaves the database. Days, thresholds and the median are
-- computed exactly as in aging_facts.sql (see there), so the seeds' rows are identical.
-- An omitted filter or option is a NULL parameter; the statement is executed unprepared,
-- so the planner folds away the predicates and parts it does not need.
with

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

-- The run's scalar parameters, once: the as-of time (also in microseconds since 1970), the
-- default thresholds and what the fact rows' dimension columns hold.
run_settings as (
    select
        %(as_of)s::timestamptz as as_of_time,
        %(threshold_days)s::integer as threshold_days,
        %(cycle_threshold_days)s::integer as cycle_threshold_days,
        %(principal_id)s::uuid as principal_id,
        %(run_id)s::uuid as run_id,
        %(tenant_id)s::uuid as tenant_id,
        %(breakdown)s::varchar(20) as breakdown,
        %(principal_type)s::varchar(5) as principal_type,
        (extract(epoch from %(as_of)s::timestamptz) * 1000000)::bigint as as_of_us
),

open_deals as (
    select
        deal_id,
        pipeline_id,
        stage_id,
        stage_entered_at,
        stage_entered_epoch_us,
        deal_created_at,
        owned_by_user_id,
        owned_by_group_id,
        assigned_user_id,
        assigned_group_id,
        coalesce(amount, 0) as amount
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

with_threshold as (
    select
        open_deals.*,
        coalesce(stage_thresholds.threshold_days, run_settings.threshold_days) as threshold_days
    from open_deals
    cross join run_settings
    left join stage_thresholds
        on open_deals.stage_id = stage_thresholds.stage_id
),

-- "More than N days" (of 86400 s) in the stage or since creation, compared exactly; the
-- cycle only when cycle_threshold_days is given.
aged as (
    select
        with_threshold.*,
        greatest(
            0, run_settings.as_of_us - with_threshold.stage_entered_epoch_us
        ) as us_in_stage,
        with_threshold.stage_entered_at
        < run_settings.as_of_time - with_threshold.threshold_days * interval '86400 seconds'
            as stage_at_risk,
        coalesce(
            with_threshold.deal_created_at < run_settings.as_of_time
            - run_settings.cycle_threshold_days * interval '86400 seconds',
            false
        ) as cycle_at_risk,
        greatest(
            0, extract(epoch from run_settings.as_of_time - with_threshold.deal_created_at)
        ) as seconds_in_cycle
    from with_threshold
    cross join run_settings
),

-- The deals the run counted, stored with its facts (store_deals). A data-modifying CTE
-- runs to completion even though nothing reads its output but the count below.
stored_deals as (
    insert into dyno_crm.report_aging_deal (
        deal_id,
        pipeline_id,
        stage_id,
        stage_entered_at,
        threshold_days,
        amount,
        owned_by_user_id,
        owned_by_group_id,
        assigned_user_id,
        assigned_group_id,
        run_id,
        tenant_id,
        days_in_stage,
        days_in_cycle,
        at_risk,
        at_risk_by
    )
    select
        deal_id,
        pipeline_id,
        stage_id,
        stage_entered_at,
        threshold_days,
        amount,
        owned_by_user_id,
        owned_by_group_id,
        assigned_user_id,
        assigned_group_id,
        %(run_id)s::uuid as run_id,
        %(tenant_id)s::uuid as tenant_id,
        us_in_stage::numeric / 86400000000 as days_in_stage,
        seconds_in_cycle / 86400 as days_in_cycle,
        stage_at_risk or cycle_at_risk as at_risk,
        case
            when stage_at_risk and cycle_at_risk then 'stage_and_cycle'
            when stage_at_risk then 'stage'
            when cycle_at_risk then 'cycle'
        end as at_risk_by
    from aged
    where %(store_deals)s::boolean
    returning 1
),

-- A deal's values of the breakdown's dimension, one row each: a deal owned by one user and
-- assigned to another counts for both, as the principal filter matches it for both; a deal
-- with no value has one NULL row, the value "none".
by_value as (
    select
        pipeline_id,
        stage_id,
        amount,
        us_in_stage,
        stage_at_risk or cycle_at_risk as is_at_risk,
        unnest(
            case %(breakdown)s::text
                when 'user'
                    then coalesce(
                        nullif(
                            array_remove(
                                array[owned_by_user_id, nullif(assigned_user_id, owned_by_user_id)],
                                null
                            ),
                            '{}'
                        ),
                        '{NULL}'
                    )
                when 'group'
                    then coalesce(
                        nullif(
                            array_remove(
                                array[
                                    owned_by_group_id, nullif(assigned_group_id, owned_by_group_id)
                                ],
                                null
                            ),
                            '{}'
                        ),
                        '{NULL}'
                    )
            end
        ) as value_id
    from aged
    where %(breakdown)s::text is not null
),

-- The seeds' rows: one group by (pipeline, stage) alone, so that a run without a breakdown
-- sorts its deals once, not once per grouping set.
per_stage as (
    select
        pipeline_id,
        stage_id,
        false as in_breakdown,
        null::uuid as value_id,
        false as all_pipelines,
        false as all_stages,
        count(*) filter (where stage_at_risk or cycle_at_risk) as at_risk_count,
        coalesce(sum(amount) filter (where stage_at_risk or cycle_at_risk), 0) as at_risk_amount,
        sum(us_in_stage) as total_us_in_stage,
        percentile_cont(0.5) within group (order by us_in_stage) as median_us_in_stage,
        count(*) as total_count,
        sum(amount) as total_amount
    from aged
    group by pipeline_id, stage_id
),

-- With a breakdown only: the totals (across the stages of each pipeline, and across
-- everything) and each value's rows.
facts_input as (
    select
        pipeline_id,
        stage_id,
        amount,
        us_in_stage,
        false as in_breakdown,
        null::uuid as value_id,
        stage_at_risk or cycle_at_risk as is_at_risk
    from aged
    where %(breakdown)s::text is not null

    union all

    select
        pipeline_id,
        stage_id,
        amount,
        us_in_stage,
        true as in_breakdown,
        value_id,
        is_at_risk
    from by_value
),

breakdown_groups as (
    select
        pipeline_id,
        stage_id,
        in_breakdown,
        value_id,
        grouping(pipeline_id) = 1 as all_pipelines,
        grouping(stage_id) = 1 as all_stages,
        count(*) filter (where is_at_risk) as at_risk_count,
        coalesce(sum(amount) filter (where is_at_risk), 0) as at_risk_amount,
        sum(us_in_stage) as total_us_in_stage,
        percentile_cont(0.5) within group (order by us_in_stage) as median_us_in_stage,
        count(*) as total_count,
        sum(amount) as total_amount
    from facts_input
    group by
        grouping sets (
            (in_breakdown, value_id, pipeline_id, stage_id),
            (in_breakdown, value_id, pipeline_id),
            (in_breakdown, value_id)
        )
    -- the seeds' rows are per_stage's
    having in_breakdown or grouping(stage_id) = 1
),

per_group as (
    select * from per_stage
    union all
    select * from breakdown_groups
),

facts as (
    insert into dyno_crm.report_deal_aging_fact (
        pipeline_id,
        stage_id,
        at_risk_deal_count,
        at_risk_amount,
        total_deal_count,
        total_amount,
        all_pipelines,
        all_stages,
        run_id,
        tenant_id,
        cycle_threshold_days,
        principal_type,
        principal_id,
        threshold_days,
        avg_days_in_stage,
        median_days_in_stage,
        percent_at_risk,
        breakdown
    )
    select
        per_group.pipeline_id,
        per_group.stage_id,
        per_group.at_risk_count as at_risk_deal_count,
        per_group.at_risk_amount,
        per_group.total_count as total_deal_count,
        per_group.total_amount,
        per_group.all_pipelines,
        per_group.all_stages,
        run_settings.run_id,
        run_settings.tenant_id,
        run_settings.cycle_threshold_days,
        case
            when per_group.in_breakdown and run_settings.breakdown = 'user' then 'USER'
            when per_group.in_breakdown and run_settings.breakdown = 'group' then 'GROUP'
            else run_settings.principal_type
        end as principal_type,
        case
            when per_group.in_breakdown then per_group.value_id
            else run_settings.principal_id
        end as principal_id,
        -- a stage row: its stage's threshold; a row across stages: the run's default
        coalesce(
            case when not per_group.all_stages then stage_thresholds.threshold_days end,
            run_settings.threshold_days
        ) as threshold_days,
        per_group.total_us_in_stage / (per_group.total_count * 86400000000) as avg_days_in_stage,
        per_group.median_us_in_stage::numeric / 86400000000 as median_days_in_stage,
        per_group.at_risk_count::numeric / per_group.total_count as percent_at_risk,
        case when per_group.in_breakdown then run_settings.breakdown end as breakdown
    from per_group
    cross join run_settings
    left join stage_thresholds
        on per_group.stage_id = stage_thresholds.stage_id
    returning 1
)

-- The statement's one row: how many fact rows and deals it wrote (sqlfluff cannot parse a
-- further CTE after the data-modifying ones, hence the scalar subquery).
select
    count(*) as fact_count,
    (select count(*) as deals from stored_deals) as deal_count
from facts
