-- The deals behind a run (report_win_loss_deal, report_aging_deal): how many the run stored,
-- set with its facts; NULL when the run kept facts only (store_deals false), failed, or is
-- older than the column. deals_pruned_at: when retention deleted them (header and facts stay).
alter table dyno_crm.report_run
add column deal_count bigint,
add column deals_pruned_at timestamptz;
