-- User & tenant management service: tenants, their users and their resource usage per period.
--
-- One meaning of tenant_id for the whole schema (design correction D9): it is always tenants.id, a UUID,
-- with a foreign key to tenants. The design keyed domain tables on a VARCHAR tenant_id while tenants.id
-- is a UUID; the human-readable identifier is tenants.tenant_key, used in URLs and grain keys only.

CREATE TABLE tenants
(
    id                    uuid                 NOT NULL DEFAULT gen_random_uuid(),
    tenant_key            varchar(255)         NOT NULL,
    name                  varchar(255)         NOT NULL,
    status                tenant_status_enum   NOT NULL DEFAULT 'active',
    subscription_tier     varchar(50)          NOT NULL DEFAULT 'basic',
    isolation_level       isolation_level_enum NOT NULL DEFAULT 'row_level',
    resource_quotas       jsonb                NOT NULL,
    compliance_frameworks text[],
    data_residency        varchar(100),
    created_at            timestamptz          NOT NULL DEFAULT now(),
    updated_at            timestamptz          NOT NULL DEFAULT now(),
    created_by            varchar(255)         NOT NULL,
    CONSTRAINT pk_tenants PRIMARY KEY (id),
    CONSTRAINT uq_tenants_tenant_key UNIQUE (tenant_key)
);

CREATE TABLE tenant_users
(
    id            uuid             NOT NULL DEFAULT gen_random_uuid(),
    tenant_id     uuid             NOT NULL REFERENCES tenants (id),
    user_id       varchar(255)     NOT NULL,
    email         varchar(255)     NOT NULL,
    roles         text[]           NOT NULL,
    permissions   jsonb,
    status        user_status_enum NOT NULL DEFAULT 'active',
    last_login_at timestamptz,
    mfa_enabled   boolean          NOT NULL DEFAULT false,
    created_at    timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT pk_tenant_users PRIMARY KEY (id),
    CONSTRAINT uq_tenant_users_tenant_user UNIQUE (tenant_id, user_id)
);

CREATE TABLE tenant_resource_usage
(
    id            uuid         NOT NULL DEFAULT gen_random_uuid(),
    tenant_id     uuid         NOT NULL REFERENCES tenants (id),
    resource_type varchar(100) NOT NULL,
    usage_count   bigint       NOT NULL DEFAULT 0,
    usage_amount  bigint       NOT NULL DEFAULT 0, -- in bytes, requests, etc.
    quota_limit   bigint       NOT NULL,
    period_start  timestamptz  NOT NULL,
    period_end    timestamptz  NOT NULL,
    updated_at    timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_tenant_resource_usage PRIMARY KEY (id),
    -- Not in the design: one counter per tenant, resource and period, so increments upsert one row.
    CONSTRAINT uq_tenant_resource_usage_period UNIQUE (tenant_id, resource_type, period_start),
    CONSTRAINT ck_tenant_resource_usage_period CHECK (period_end > period_start)
);
