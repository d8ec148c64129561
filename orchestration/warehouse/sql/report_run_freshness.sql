-- What data a run saw, read from int_tenants in the run's facts transaction: the tenant's
-- latest stage entry in the models, and when that model was built. NULL for runs older
-- than the columns.
alter table dyno_crm.report_run
add column data_latest_stage_entry timestamptz,
add column models_built_at timestamptz;
