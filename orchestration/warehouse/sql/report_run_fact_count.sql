-- How many fact rows a SUCCEEDED run wrote, set in the transaction that writes them: the
-- audit (reports/audit.py) compares it with the rows present, so a lost or extra fact row
-- is detectable. NULL for runs that did not succeed and for runs older than the column.
alter table dyno_crm.report_run
add column fact_count integer;
