-- At most one live or successful run per request: FAILED attempts may repeat it.
create unique index ux_report_run_request
on dyno_crm.report_run (request_id)
where request_id is not null and status in ('IN_PROGRESS', 'SUCCEEDED');
