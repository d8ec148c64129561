-- Breakdowns and totals (docs/deviations.md): breakdown names the dimension of a row broken
-- down by value (NULL on the seeds' rows); all_pipelines and all_stages mark the rows across
-- all pipelines and across all stages of a pipeline.
alter table dyno_crm.report_deal_aging_fact
add column breakdown varchar(20),
add column all_pipelines boolean not null default false,
add column all_stages boolean not null default false;
