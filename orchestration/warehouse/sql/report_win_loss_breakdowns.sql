-- Breakdowns and totals (docs/deviations.md): breakdown names the dimension of a row broken
-- down by value (NULL on the seeds' rows), all_pipelines marks a row across all pipelines.
-- closed_count, win_rate_by_amount and the 95% Wilson interval of win_rate come with every
-- row; NULL on rows older than the columns.
alter table dyno_crm.report_deal_win_loss_fact
add column breakdown varchar(20),
add column all_pipelines boolean not null default false,
add column closed_count bigint,
add column win_rate_by_amount numeric,
add column win_rate_low numeric(7, 4),
add column win_rate_high numeric(7, 4);
