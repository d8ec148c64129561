-- The caller's id for one report request (report API `request_id`, CLI `--request-id`,
-- Dagster: derived from run, asset, partition and report). A second call with the same id
-- returns the stored run instead of storing another. NULL for calls without one.
alter table dyno_crm.report_run
add column request_id uuid;
