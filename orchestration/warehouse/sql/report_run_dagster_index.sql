-- The headers of one Dagster run: looked up when a retried step skips the reports it
-- already stored, and by the run-failure sensor. Runs started outside Dagster have no id.
create index ix_report_run_dagster_run
on dyno_crm.report_run (dagster_run_id)
where dagster_run_id is not null;
