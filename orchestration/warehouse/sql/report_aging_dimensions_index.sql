-- The seeds' uniqueness, now also per breakdown and total (see the win/loss index).
create unique index ux_rdfa_dimensions
on dyno_crm.report_deal_aging_fact (
    run_id, breakdown, all_pipelines, all_stages, pipeline_id, principal_type, principal_id,
    stage_id
) nulls not distinct;

alter table dyno_crm.report_deal_aging_fact
drop constraint if exists uq_rdfa_dimensions;
