-- The floor of a win/loss run: a bare count of the rows the report reads (the tenant's
-- closing instances in the period), through the same (tenant_id, entered_at) index.
select count(*) as rows_read
from dyno_crm_analytics.int_closing_instances
where
    tenant_id = %(tenant_id)s::uuid
    and entered_at >= %(period_start)s::timestamptz
    and entered_at < %(period_end)s::timestamptz
