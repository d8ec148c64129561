-- One row per deal to generate, with every per-deal choice drawn from its hash: the
-- plan both generated tables are derived from (bench/sql/generate_deals.sql).
create unlogged table bench.deal_plan as
with

numbered as (
    select
        tenants.tenant_no,
        tenants.tenant_id,
        deals.deal_no,
        hashtextextended(tenants.tenant_no || '/' || deals.deal_no, %(seed)s::integer) as h
    from bench.tenant as tenants
    cross join lateral generate_series(1, tenants.deal_count) as deals (deal_no)
),

drawn as (
    select
        tenant_no,
        tenant_id,
        deal_no,
        h,
        bench.pick(h, 1, 3) as pipeline_no,
        timestamptz '2023-01-01 00:00:00+00'
        + make_interval(secs => bench.pick(h, 14, 3 * 365 * 86400)) as created_at,
        1 + bench.pick(h, 15, 5)::integer as entry_count,
        bench.pick(h, 16, 100) < 60 as closes,
        bench.pick(h, 17, 100) < 45 as is_won,
        bench.pick(h, 18, 10) = 0 as reopens,
        (bench.pick(h, 19, 4) = 0)::integer as first_stage_offset,
        (1 + bench.pick(h, 20, 20)) * 86400 as step_seconds
    from numbered
)

select
    tenant_no,
    tenant_id,
    deal_no,
    h,
    pipeline_no,
    created_at,
    entry_count,
    is_won,
    first_stage_offset,
    step_seconds,
    closes and entry_count >= 2 as is_closed,
    not closes and reopens and entry_count >= 3 as is_reopened
from drawn;
