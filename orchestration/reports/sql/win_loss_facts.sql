-- Deal Win/Loss facts of one run, and the deals behind them (the seeds' report query,
-- set-based: no deal row leaves the database). Reads int_closing_instances through the
-- transaction's search_path. An omitted filter is a NULL parameter; the statement is
-- executed unprepared, so the planner folds "NULL is null or ..." away and keeps the index
-- range, and drops the parts of the statement an option that is not given would need.
--
-- Rows: the seeds' one per pipeline; with a breakdown also the row across all pipelines,
-- and per value of the dimension one per pipeline and one across all pipelines
-- (docs/deviations.md, breakdowns). A value's row equals the same run filtered by it.
with

-- Not materialized: read once per use (the facts, and the deals or the breakdown only when
-- asked for), instead of kept in a tuplestore that a run without them would fill for nothing
-- (docs/performance.md, storing the deals).
closed_in_period as not materialized (
    select
        deal_id,
        pipeline_id,
        is_won,
        entered_at as closed_at,
        first_stage_id,
        source,
        owned_by_user_id,
        owned_by_group_id,
        assigned_user_id,
        assigned_group_id,
        coalesce(amount, 0) as amount
    from int_closing_instances
    where
        tenant_id = %(tenant_id)s::uuid
        and entered_at >= %(period_start)s::timestamptz
        and entered_at < %(period_end)s::timestamptz
        and (%(pipeline_id)s::uuid is null or pipeline_id = %(pipeline_id)s::uuid)
        and (%(source)s::varchar is null or source = %(source)s::varchar)
        and (%(stage_id)s::uuid is null or first_stage_id = %(stage_id)s::uuid)
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

-- The deals the run counted, stored with its facts (store_deals). A data-modifying CTE
-- runs to completion even though nothing reads its output but the count below.
stored_deals as (
    insert into dyno_crm.report_win_loss_deal (
        deal_id,
        pipeline_id,
        amount,
        closed_at,
        first_stage_id,
        source,
        owned_by_user_id,
        owned_by_group_id,
        assigned_user_id,
        assigned_group_id,
        run_id,
        tenant_id,
        outcome
    )
    select
        deal_id,
        pipeline_id,
        amount,
        closed_at,
        first_stage_id,
        source,
        owned_by_user_id,
        owned_by_group_id,
        assigned_user_id,
        assigned_group_id,
        %(run_id)s::uuid as run_id,
        %(tenant_id)s::uuid as tenant_id,
        case when is_won then 'WON' else 'LOST' end as outcome
    from closed_in_period
    where %(store_deals)s::boolean
    returning 1
),

-- A deal's values of the breakdown's dimension, one row each: a deal owned by one user and
-- assigned to another counts for both, as the principal filter matches it for both; a deal
-- with no value has one NULL row, the value "none".
by_value as (
    select
        pipeline_id,
        is_won,
        amount,
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
                when 'first_stage' then array[first_stage_id]
                else '{NULL}'::uuid[]
            end
        ) as value_id,
        case when %(breakdown)s::text = 'source' then source end as value_text
    from closed_in_period
    where %(breakdown)s::text is not null
),

-- One hash aggregate per pipeline (as the seeds' query), and one per pipeline and value:
-- no sort. The totals across pipelines add these few rows up; an average is the sum over
-- the count, exactly what avg() computes.
per_pipeline as (
    select
        pipeline_id,
        count(*) filter (where is_won) as won_count,
        count(*) filter (where not is_won) as lost_count,
        coalesce(sum(amount) filter (where is_won), 0) as won_amount,
        coalesce(sum(amount) filter (where not is_won), 0) as lost_amount
    from closed_in_period
    group by pipeline_id
),

per_value as (
    select
        pipeline_id,
        value_id,
        value_text,
        count(*) filter (where is_won) as won_count,
        count(*) filter (where not is_won) as lost_count,
        coalesce(sum(amount) filter (where is_won), 0) as won_amount,
        coalesce(sum(amount) filter (where not is_won), 0) as lost_amount
    from by_value
    group by pipeline_id, value_id, value_text
),

-- the totals only come with a breakdown: the seeds' call stores the seeds' rows
per_group as (
    select
        pipeline_id,
        won_count,
        lost_count,
        won_amount,
        lost_amount,
        false as in_breakdown,
        false as all_pipelines,
        null::uuid as value_id,
        null::text as value_text
    from per_pipeline

    union all

    select
        null::uuid as pipeline_id,
        sum(won_count) as won_count,
        sum(lost_count) as lost_count,
        sum(won_amount) as won_amount,
        sum(lost_amount) as lost_amount,
        false as in_breakdown,
        true as all_pipelines,
        null::uuid as value_id,
        null::text as value_text
    from per_pipeline
    where %(breakdown)s::text is not null
    having count(*) > 0

    union all

    select
        pipeline_id,
        won_count,
        lost_count,
        won_amount,
        lost_amount,
        true as in_breakdown,
        false as all_pipelines,
        value_id,
        value_text
    from per_value

    union all

    select
        null::uuid as pipeline_id,
        sum(won_count) as won_count,
        sum(lost_count) as lost_count,
        sum(won_amount) as won_amount,
        sum(lost_amount) as lost_amount,
        true as in_breakdown,
        true as all_pipelines,
        value_id,
        value_text
    from per_value
    group by value_id, value_text
),

-- The 95 per cent Wilson score interval of the win rate by count (Wilson 1927; docs/api.md):
-- (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), with z the normal quantile at 0.975.
samples as (
    select
        per_group.*,
        1.959963984540054::float8 as z,
        per_group.won_count + per_group.lost_count as closed_count,
        (per_group.won_count + per_group.lost_count)::float8 as n,
        per_group.won_amount / nullif(per_group.won_count, 0) as avg_won,
        per_group.lost_amount / nullif(per_group.lost_count, 0) as avg_lost,
        per_group.won_count::numeric / (per_group.won_count + per_group.lost_count) as win_rate,
        per_group.won_count::float8 / (per_group.won_count + per_group.lost_count) as p
    from per_group
),

with_interval as (
    select
        samples.*,
        (samples.p + samples.z ^ 2 / (2 * samples.n)) / (1 + samples.z ^ 2 / samples.n) as center,
        samples.z
        / (1 + samples.z ^ 2 / samples.n)
        * sqrt(samples.p * (1 - samples.p) / samples.n + samples.z ^ 2 / (4 * samples.n ^ 2))
            as half_width
    from samples
),

facts as (
    insert into dyno_crm.report_deal_win_loss_fact (
        pipeline_id,
        deals_closed_won_count,
        deals_closed_lost_count,
        total_amount_won,
        total_amount_lost,
        avg_deal_size_won,
        avg_deal_size_lost,
        win_rate,
        all_pipelines,
        closed_count,
        run_id,
        tenant_id,
        principal_type,
        principal_id,
        source,
        stage_id,
        breakdown,
        win_rate_by_amount,
        win_rate_low,
        win_rate_high
    )
    select
        pipeline_id,
        won_count as deals_closed_won_count,
        lost_count as deals_closed_lost_count,
        won_amount as total_amount_won,
        lost_amount as total_amount_lost,
        avg_won as avg_deal_size_won,
        avg_lost as avg_deal_size_lost,
        win_rate,
        all_pipelines,
        closed_count,
        %(run_id)s::uuid as run_id,
        %(tenant_id)s::uuid as tenant_id,
        case
            when in_breakdown and %(breakdown)s::text = 'user' then 'USER'
            when in_breakdown and %(breakdown)s::text = 'group' then 'GROUP'
            else %(principal_type)s::varchar(5)
        end as principal_type,
        case
            when in_breakdown and %(breakdown)s::text in ('user', 'group') then value_id
            else %(principal_id)s::uuid
        end as principal_id,
        case
            when in_breakdown and %(breakdown)s::text = 'source' then value_text
            else %(source)s::varchar(200)
        end as source,
        case
            when in_breakdown and %(breakdown)s::text = 'first_stage' then value_id
            else %(stage_id)s::uuid
        end as stage_id,
        case when in_breakdown then %(breakdown)s::varchar(20) end as breakdown,
        -- NULL when nothing was won or lost in amount (won + lost = 0)
        round(won_amount / nullif(won_amount + lost_amount, 0), 4) as win_rate_by_amount,
        greatest(0, center - half_width) as win_rate_low,
        least(1, center + half_width) as win_rate_high
    from with_interval
    returning 1
)

-- The statement's one row: how many fact rows and deals it wrote (sqlfluff cannot parse a
-- further CTE after the data-modifying ones, hence the scalar subquery).
select
    count(*) as fact_count,
    (select count(*) as deals from stored_deals) as deal_count
from facts
