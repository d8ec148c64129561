-- Scale data: the stage histories of the deals in bench.deal_plan (see generate_deals.sql):
-- 1-5 entries a deal, each entered after the one before, the last one current.
insert into dyno_crm.deal_pipeline_stage_state (
    id,
    tenant_id,
    deal_id,
    pipeline_id,
    pipeline_stage_id,
    entered_at,
    exited_at,
    is_current
)
with

entries as (
    select
        planned.tenant_no,
        planned.tenant_id,
        planned.deal_no,
        planned.pipeline_no,
        planned.entry_count,
        entry_numbers.entry_no,
        case
            when planned.is_closed and entry_numbers.entry_no = planned.entry_count
                then case when planned.is_won then 4 else 5 end
            -- a lost deal reopened: its one but last entry was terminal
            when planned.is_reopened and entry_numbers.entry_no = planned.entry_count - 1 then 5
            else 1 + mod(entry_numbers.entry_no - 1 + planned.first_stage_offset, 3)
        end as stage_no,
        planned.created_at
        + make_interval(
            secs => (entry_numbers.entry_no - 1) * planned.step_seconds
            + bench.pick(planned.h, 20 + entry_numbers.entry_no, planned.step_seconds)
        ) as entered_at,
        planned.created_at
        + make_interval(
            secs => entry_numbers.entry_no * planned.step_seconds
            + bench.pick(planned.h, 21 + entry_numbers.entry_no, planned.step_seconds)
        ) as next_entered_at
    from bench.deal_plan as planned
    cross join lateral generate_series(1, planned.entry_count) as entry_numbers (entry_no)
)

select
    bench.uid(
        %(seed)s::integer,
        'entry/' || entries.tenant_no || '/' || entries.deal_no || '/' || entries.entry_no
    ) as id,
    entries.tenant_id,
    bench.tenant_uid(%(seed)s::integer, 'deal', entries.tenant_no, entries.deal_no) as deal_id,
    bench.tenant_uid(
        %(seed)s::integer, 'pipeline', entries.tenant_no, entries.pipeline_no
    ) as pipeline_id,
    bench.uid(
        %(seed)s::integer,
        'stage/' || entries.tenant_no || '/' || entries.pipeline_no || '/' || entries.stage_no
    ) as pipeline_stage_id,
    entries.entered_at,
    case when entries.entry_no < entries.entry_count then entries.next_entered_at end as exited_at,
    entries.entry_no = entries.entry_count as is_current
from entries;
