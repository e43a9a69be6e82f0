-- Agent orchestration service: agents (hash partitions by tenant) and their executions (monthly
-- range partitions).
--
-- Differences from the design, and why:
-- * agents: PRIMARY KEY (tenant_id, id) (design correction D1); 16 partitions, the design names no count.
-- * agent_executions was partitioned by started_at, which is NULL while an execution is pending, and
--   a NULL key only fits a DEFAULT partition (design correction D3). It is partitioned by created_at instead,
--   set when the execution is queued and never NULL; started_at stays the time it began running.
-- * agent_executions: PRIMARY KEY (created_at, id), and the agent reference carries tenant_id.

CREATE TABLE agents
(
    id                    uuid         NOT NULL DEFAULT gen_random_uuid(),
    tenant_id             uuid         NOT NULL REFERENCES tenants (id),
    name                  varchar(255) NOT NULL,
    version               varchar(50)  NOT NULL,
    agent_type            varchar(100) NOT NULL,
    description           text,
    config                jsonb        NOT NULL,
    enabled               boolean      NOT NULL DEFAULT true,
    priority              integer      NOT NULL DEFAULT 0,
    timeout_ms            integer      NOT NULL DEFAULT 30000,
    max_retries           integer      NOT NULL DEFAULT 3,
    resource_requirements jsonb,
    created_at            timestamptz  NOT NULL DEFAULT now(),
    updated_at            timestamptz  NOT NULL DEFAULT now(),
    created_by            varchar(255) NOT NULL,
    CONSTRAINT pk_agents PRIMARY KEY (tenant_id, id),
    CONSTRAINT uq_agents_tenant_name_version UNIQUE (tenant_id, name, version)
) PARTITION BY HASH (tenant_id);

SELECT phantom_create_hash_partitions('agents', 16);

CREATE TABLE agent_executions
(
    id                uuid                  NOT NULL DEFAULT gen_random_uuid(),
    tenant_id         uuid                  NOT NULL,
    agent_id          uuid                  NOT NULL,
    context           jsonb                 NOT NULL,
    status            execution_status_enum NOT NULL DEFAULT 'pending',
    created_at        timestamptz           NOT NULL DEFAULT now(),
    started_at        timestamptz,
    completed_at      timestamptz,
    execution_time_ms integer,
    result_summary    jsonb,
    error_details     jsonb,
    created_by        varchar(255),
    CONSTRAINT pk_agent_executions PRIMARY KEY (created_at, id),
    CONSTRAINT fk_agent_executions_agent FOREIGN KEY (tenant_id, agent_id) REFERENCES agents (tenant_id, id)
) PARTITION BY RANGE (created_at);

CREATE TABLE agent_executions_default PARTITION OF agent_executions DEFAULT;

CREATE INDEX idx_agent_executions_tenant_time ON agent_executions (tenant_id, created_at DESC);
CREATE INDEX idx_agent_executions_agent ON agent_executions (tenant_id, agent_id, created_at DESC);
-- Hot data: executions still waiting or running.
CREATE INDEX idx_agent_executions_open ON agent_executions (tenant_id, created_at) WHERE status IN ('pending', 'running');
