-- The audit of the deals behind runs (reports/audit.py): one row of counts, all 0 when the
-- storage is sound except deal_rows. A run's deals count when it SUCCEEDED, stored deals
-- (deal_count set) and retention has not deleted them; their sums per pipeline (and stage)
-- must equal the run's seeds' fact rows exactly.
with

runs_with_deals as (
    select run_id
    from dyno_crm.report_run
    where status = 'SUCCEEDED' and deal_count is not null and deals_pruned_at is null
),

all_deals as (
    select
        run_id,
        tenant_id,
        'deal_win_loss' as report_type
    from dyno_crm.report_win_loss_deal

    union all

    select
        run_id,
        tenant_id,
        'deal_aging' as report_type
    from dyno_crm.report_aging_deal
),

deal_checks as (
    select
        count(*) as deal_rows,
        count(*) filter (
            where
            runs.run_id is null
            or runs.status <> 'SUCCEEDED'
            or runs.deal_count is null
            or runs.deals_pruned_at is not null
        ) as orphan_deal_rows,
        count(*) filter (
            where runs.tenant_id <> all_deals.tenant_id or runs.report_type <> all_deals.report_type
        ) as misplaced_deal_rows
    from all_deals
    left join dyno_crm.report_run as runs
        on all_deals.run_id = runs.run_id
),

miscounted as (
    select count(*) as miscounted_deal_runs
    from dyno_crm.report_run as runs
    inner join runs_with_deals
        on runs.run_id = runs_with_deals.run_id
    where
        runs.deal_count <> (
            select count(*) as deal_rows
            from all_deals
            where all_deals.run_id = runs.run_id
        )
),

-- a pipeline without one is keyed by the nil UUID: a full join needs an equality
win_loss_deal_sums as (
    select
        deals.run_id,
        coalesce(deals.pipeline_id, '00000000-0000-0000-0000-000000000000') as pipeline_key,
        count(*) filter (where deals.outcome = 'WON') as won,
        count(*) filter (where deals.outcome = 'LOST') as lost,
        coalesce(sum(deals.amount) filter (where deals.outcome = 'WON'), 0) as won_amount,
        coalesce(sum(deals.amount) filter (where deals.outcome = 'LOST'), 0) as lost_amount
    from dyno_crm.report_win_loss_deal as deals
    inner join runs_with_deals
        on deals.run_id = runs_with_deals.run_id
    group by deals.run_id, pipeline_key
),

win_loss_fact_sums as (
    select
        facts.run_id,
        facts.deals_closed_won_count as won,
        facts.deals_closed_lost_count as lost,
        facts.total_amount_won as won_amount,
        facts.total_amount_lost as lost_amount,
        coalesce(facts.pipeline_id, '00000000-0000-0000-0000-000000000000') as pipeline_key
    from dyno_crm.report_deal_win_loss_fact as facts
    inner join runs_with_deals
        on facts.run_id = runs_with_deals.run_id
    where facts.breakdown is null and not facts.all_pipelines
),

win_loss_differ as (
    select count(distinct coalesce(deal_sums.run_id, fact_sums.run_id)) as runs
    from win_loss_deal_sums as deal_sums
    full join win_loss_fact_sums as fact_sums
        on
            deal_sums.run_id = fact_sums.run_id
            and deal_sums.pipeline_key = fact_sums.pipeline_key
    where
        (deal_sums.won, deal_sums.lost, deal_sums.won_amount, deal_sums.lost_amount)
        is distinct from
        (fact_sums.won, fact_sums.lost, fact_sums.won_amount, fact_sums.lost_amount)
),

aging_deal_sums as (
    select
        deals.run_id,
        deals.stage_id,
        coalesce(deals.pipeline_id, '00000000-0000-0000-0000-000000000000') as pipeline_key,
        count(*) as deals,
        sum(deals.amount) as amount,
        count(*) filter (where deals.at_risk) as at_risk,
        coalesce(sum(deals.amount) filter (where deals.at_risk), 0) as at_risk_amount
    from dyno_crm.report_aging_deal as deals
    inner join runs_with_deals
        on deals.run_id = runs_with_deals.run_id
    group by deals.run_id, pipeline_key, deals.stage_id
),

aging_fact_sums as (
    select
        facts.run_id,
        facts.stage_id,
        facts.total_deal_count as deals,
        facts.total_amount as amount,
        facts.at_risk_deal_count as at_risk,
        facts.at_risk_amount,
        coalesce(facts.pipeline_id, '00000000-0000-0000-0000-000000000000') as pipeline_key
    from dyno_crm.report_deal_aging_fact as facts
    inner join runs_with_deals
        on facts.run_id = runs_with_deals.run_id
    where facts.breakdown is null and not facts.all_pipelines and not facts.all_stages
),

aging_differ as (
    select count(distinct coalesce(deal_sums.run_id, fact_sums.run_id)) as runs
    from aging_deal_sums as deal_sums
    full join aging_fact_sums as fact_sums
        on
            deal_sums.run_id = fact_sums.run_id
            and deal_sums.pipeline_key = fact_sums.pipeline_key
            and deal_sums.stage_id = fact_sums.stage_id
    where
        (deal_sums.deals, deal_sums.amount, deal_sums.at_risk, deal_sums.at_risk_amount)
        is distinct from
        (fact_sums.deals, fact_sums.amount, fact_sums.at_risk, fact_sums.at_risk_amount)
)

select
    deal_checks.deal_rows,
    deal_checks.orphan_deal_rows,
    deal_checks.misplaced_deal_rows,
    miscounted.miscounted_deal_runs,
    win_loss_differ.runs + aging_differ.runs as deals_differ_from_facts_runs
from deal_checks
cross join miscounted
cross join win_loss_differ
cross join aging_differ
