-- The least a report run needs, granted to a NOLOGIN group role (privileges.py). The
-- placeholders are identifiers, quoted by psycopg's sql.Identifier, never values.
-- Reading: the CRM sources and the dbt models; writing: report headers (insert, and update
-- for the status) and fact rows (insert only); a run's deals (insert, and delete for the
-- retention of `dyno-reports prune`). Nothing else may be deleted, truncated or created.
grant usage on schema dyno_crm to %(runner)s;

grant select on
dyno_crm.pipeline,
dyno_crm.pipeline_stage,
dyno_crm.deal,
dyno_crm.deal_pipeline_stage_state
to %(runner)s;

grant select, insert, update on dyno_crm.report_run to %(runner)s;

grant select, insert on
dyno_crm.report_deal_win_loss_fact,
dyno_crm.report_deal_aging_fact
to %(runner)s;

grant select, insert, delete on
dyno_crm.report_win_loss_deal,
dyno_crm.report_aging_deal
to %(runner)s;

grant usage on schema %(models_schema)s to %(runner)s;

grant select on all tables in schema %(models_schema)s to %(runner)s;

-- dbt rebuilds a table model as a new table (built aside, then swapped in by rename), which
-- would not carry the grant above: the tables the builder role creates from now on get it.
alter default privileges for role %(builder)s in schema %(models_schema)s
grant select on tables to %(runner)s;
