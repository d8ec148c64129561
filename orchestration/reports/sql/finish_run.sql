-- A run ends SUCCEEDED in the transaction that wrote its facts and deals: with their counts
-- (the audit compares them with the rows present) and the freshness of what it read, from
-- int_tenants through the transaction's search_path (built_at is one value per build; an
-- unknown tenant has no row, so another's tells when the models were built).
-- Only an IN_PROGRESS run: one that recovery marked FAILED meanwhile matches no row, and
-- the caller then refuses to commit.
update dyno_crm.report_run
set
    status = 'SUCCEEDED',
    fact_count = %(fact_count)s,
    deal_count = %(deal_count)s,
    data_latest_stage_entry = (
        select int_tenants.latest_stage_entry
        from int_tenants
        where int_tenants.tenant_id = report_run.tenant_id
    ),
    models_built_at = coalesce(
        (
            select int_tenants.built_at
            from int_tenants
            where int_tenants.tenant_id = report_run.tenant_id
        ),
        (
            select int_tenants.built_at
            from int_tenants
            order by int_tenants.tenant_id
            limit 1
        )
    )
where
    run_id = %(run_id)s
    and status = 'IN_PROGRESS'
