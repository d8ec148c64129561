-- Which Dagster run wrote a report_run header (NULL for runs started outside Dagster).
-- The Dagster report runner puts its run id in the session setting dyno.dagster_run_id;
-- the column default copies it into every header that session inserts, in the header's
-- own transaction, so the report API needs no Dagster parameter and a header can never
-- exist without its link. current_setting() is stable, not volatile: adding the column
-- is a catalogue change only, existing rows are not rewritten.
alter table dyno_crm.report_run
add column dagster_run_id text
default nullif(current_setting('dyno.dagster_run_id', true), '');
