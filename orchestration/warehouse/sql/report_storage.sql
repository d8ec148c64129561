-- Report storage: the seeds' report_run header and the two fact tables.
-- Deviation from the seeds: PostgreSQL makes primary-key columns NOT NULL, so the seeds'
-- primary keys would reject exactly the rows with NULL (unfiltered) dimensions. The
-- dimensions stay nullable and the same uniqueness is enforced by a UNIQUE NULLS NOT
-- DISTINCT constraint (PostgreSQL 15+), which treats NULLs as equal.
create schema if not exists dyno_crm;

create table if not exists dyno_crm.report_run (
    run_id uuid primary key,
    tenant_id uuid not null,
    report_type varchar(100) not null,
    generated_at timestamptz not null default now(),
    period_start timestamptz,
    period_end timestamptz,
    input_params jsonb,
    status varchar(20) not null default 'SUCCEEDED',
    error_message text
);

create index if not exists ix_report_run_tenant_type
on dyno_crm.report_run (tenant_id, report_type);

-- Finds the runs a crashed process left IN_PROGRESS without scanning every header.
create index if not exists ix_report_run_in_progress
on dyno_crm.report_run (generated_at)
where status = 'IN_PROGRESS';

create table if not exists dyno_crm.report_deal_win_loss_fact (
    run_id uuid not null,
    tenant_id uuid not null,
    pipeline_id uuid,
    principal_type varchar(5),
    principal_id uuid,
    source varchar(200),
    stage_id uuid,
    deals_closed_won_count bigint not null,
    deals_closed_lost_count bigint not null,
    total_amount_won numeric(20, 2) not null,
    total_amount_lost numeric(20, 2) not null,
    avg_deal_size_won numeric(20, 2),
    avg_deal_size_lost numeric(20, 2),
    win_rate numeric(7, 4),
    constraint uq_rdw1_dimensions unique nulls not distinct (
        run_id, pipeline_id, principal_type, principal_id, source, stage_id
    ),
    constraint fk_rdw1_run foreign key (run_id)
    references dyno_crm.report_run (run_id) on delete cascade
);

create index if not exists ix_rdw1_tenant_pipeline
on dyno_crm.report_deal_win_loss_fact (tenant_id, pipeline_id);

create index if not exists ix_rdw1_principal
on dyno_crm.report_deal_win_loss_fact (tenant_id, principal_type, principal_id);

create table if not exists dyno_crm.report_deal_aging_fact (
    run_id uuid not null,
    tenant_id uuid not null,
    pipeline_id uuid,
    principal_type varchar(5),
    principal_id uuid,
    stage_id uuid,
    threshold_days integer not null,
    cycle_threshold_days integer,
    at_risk_deal_count bigint not null,
    at_risk_amount numeric(20, 2) not null,
    avg_days_in_stage numeric(10, 2) not null,
    median_days_in_stage numeric(10, 2),
    total_deal_count bigint not null,
    total_amount numeric(20, 2) not null,
    percent_at_risk numeric(7, 4),
    constraint uq_rdfa_dimensions unique nulls not distinct (
        run_id, pipeline_id, principal_type, principal_id, stage_id
    ),
    constraint fk_rdfa_run foreign key (run_id)
    references dyno_crm.report_run (run_id) on delete cascade
);

create index if not exists ix_rdfa_tenant_pipeline
on dyno_crm.report_deal_aging_fact (tenant_id, pipeline_id);

create index if not exists ix_rdfa_principal
on dyno_crm.report_deal_aging_fact (tenant_id, principal_type, principal_id);

-- The deals behind each run's numbers (store_deals, default true), written by the run's
-- facts statement in the same transaction. No foreign key to report_run: its check would
-- lock the header once per deal row (260k for a big tenant's aging); the audit finds deal
-- rows without a SUCCEEDED run instead. Retention (`dyno-reports prune`) deletes them.
-- Indexed by run only, not unique on (run_id, deal_id): a deal is counted once per run by
-- construction (the models are unique on (tenant_id, deal_id), dbt-tested), and a unique
-- index made storing a big tenant's 260k open deals a third slower (docs/performance.md).
create table if not exists dyno_crm.report_win_loss_deal (
    run_id uuid not null,
    tenant_id uuid not null,
    deal_id uuid not null,
    pipeline_id uuid,
    outcome varchar(4) not null,
    amount numeric(20, 2) not null,
    closed_at timestamptz not null,
    first_stage_id uuid,
    source varchar(200),
    owned_by_user_id uuid,
    owned_by_group_id uuid,
    assigned_user_id uuid,
    assigned_group_id uuid,
    constraint ck_report_win_loss_deal_outcome check (outcome in ('WON', 'LOST'))
);

create table if not exists dyno_crm.report_aging_deal (
    run_id uuid not null,
    tenant_id uuid not null,
    deal_id uuid not null,
    pipeline_id uuid,
    stage_id uuid not null,
    stage_entered_at timestamptz not null,
    days_in_stage numeric(12, 6) not null,
    days_in_cycle numeric(12, 6) not null,
    threshold_days integer not null,
    at_risk boolean not null,
    at_risk_by varchar(15),
    amount numeric(20, 2) not null,
    owned_by_user_id uuid,
    owned_by_group_id uuid,
    assigned_user_id uuid,
    assigned_group_id uuid,
    constraint ck_report_aging_deal_at_risk_by check (
        at_risk_by in ('stage', 'cycle', 'stage_and_cycle')
    )
);

create index if not exists ix_report_win_loss_deal_run
on dyno_crm.report_win_loss_deal (run_id);

create index if not exists ix_report_aging_deal_run
on dyno_crm.report_aging_deal (run_id);
