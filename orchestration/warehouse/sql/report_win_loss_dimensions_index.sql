-- The seeds' uniqueness (one row per run and dimension values), now also per breakdown and
-- total: the row of deals without a source (breakdown 'source', source NULL) and the row
-- across all pipelines (pipeline_id NULL) must not collide with the seeds' rows.
create unique index ux_rdw1_dimensions
on dyno_crm.report_deal_win_loss_fact (
    run_id, breakdown, all_pipelines, pipeline_id, principal_type, principal_id, source, stage_id
) nulls not distinct;

alter table dyno_crm.report_deal_win_loss_fact
drop constraint if exists uq_rdw1_dimensions;
