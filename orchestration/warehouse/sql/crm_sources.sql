-- The CRM source tables the reports read (the source contract, docs/api.md).
-- Shipped for the demo, the tests and the benchmark: a user's warehouse already has
-- these tables, and nothing in the project creates or alters them there.
create schema if not exists dyno_crm;

create table if not exists dyno_crm.pipeline (
    id uuid not null,
    tenant_id uuid not null,
    name text not null,
    primary key (tenant_id, id)
);

create table if not exists dyno_crm.pipeline_stage (
    id uuid not null,
    tenant_id uuid not null,
    pipeline_id uuid not null,
    name text not null,
    stage_order integer not null,
    stage_state varchar(20) not null,
    primary key (tenant_id, id),
    constraint ck_pipeline_stage_state check (
        stage_state in ('NOT_STARTED', 'IN_PROGRESS', 'DONE_SUCCESS', 'DONE_FAILED')
    )
);

create table if not exists dyno_crm.deal (
    id uuid not null,
    tenant_id uuid not null,
    pipeline_id uuid,
    name text not null,
    amount numeric(20, 2),
    source varchar(200),
    created_at timestamptz not null,
    owned_by_user_id uuid,
    owned_by_group_id uuid,
    assigned_user_id uuid,
    assigned_group_id uuid,
    primary key (tenant_id, id)
);

create table if not exists dyno_crm.deal_pipeline_stage_state (
    id uuid not null,
    tenant_id uuid not null,
    deal_id uuid not null,
    pipeline_id uuid not null,
    pipeline_stage_id uuid not null,
    entered_at timestamptz not null,
    exited_at timestamptz,
    is_current boolean not null,
    primary key (tenant_id, id)
);

create unique index if not exists ux_dpss_one_current_per_deal
on dyno_crm.deal_pipeline_stage_state (tenant_id, deal_id)
where is_current;
