-- The floor of an aging run: a bare count of the rows the report reads (the tenant's open
-- deals whose current stage was entered in the optional period), as one range of the
-- (tenant_id, stage_entered_at, ...) index of the benchmark's copy of int_current_deals
-- (floor_aging_table.sql).
select count(*) as rows_read
from bench.floor_current_deals
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
