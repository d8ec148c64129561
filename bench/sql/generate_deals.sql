-- Scale data: the deals of every tenant in bench.tenant, generated
-- on the server (no row travels through Python). Everything is a pure function of the seed
-- and the row's numbers (bench.pick, md5 ids), so the same seed gives the same rows on any
-- server and with any plan.
insert into dyno_crm.deal (
    id,
    tenant_id,
    pipeline_id,
    name,
    amount,
    source,
    created_at,
    owned_by_user_id,
    owned_by_group_id,
    assigned_user_id,
    assigned_group_id
)
select
    bench.tenant_uid(%(seed)s::integer, 'deal', planned.tenant_no, planned.deal_no) as id,
    planned.tenant_id,
    case
        when bench.pick(planned.h, 2, 100) > 0
            then bench.tenant_uid(
                %(seed)s::integer, 'pipeline', planned.tenant_no, planned.pipeline_no
            )
    end as pipeline_id,
    'Deal ' || planned.deal_no as name,
    case
        when bench.pick(planned.h, 3, 50) > 0
            then (1000 + bench.pick(planned.h, 4, 10000000)) / 100.0
    end as amount,
    (array['web', 'referral', 'partner', 'event', 'cold call'])[
        1 + bench.pick(planned.h, 5, 6)
    ] as source,
    planned.created_at,
    case
        when bench.pick(planned.h, 6, 20) > 0
            then bench.tenant_uid(
                %(seed)s::integer, 'user', planned.tenant_no, bench.pick(planned.h, 7, 20)
            )
    end as owned_by_user_id,
    case
        when bench.pick(planned.h, 8, 10) > 0
            then bench.tenant_uid(
                %(seed)s::integer, 'group', planned.tenant_no, bench.pick(planned.h, 9, 5)
            )
    end as owned_by_group_id,
    case
        when bench.pick(planned.h, 10, 3) > 0
            then bench.tenant_uid(
                %(seed)s::integer, 'user', planned.tenant_no, bench.pick(planned.h, 11, 20)
            )
    end as assigned_user_id,
    case
        when bench.pick(planned.h, 12, 3) > 0
            then bench.tenant_uid(
                %(seed)s::integer, 'group', planned.tenant_no, bench.pick(planned.h, 13, 5)
            )
    end as assigned_group_id
from bench.deal_plan as planned;
