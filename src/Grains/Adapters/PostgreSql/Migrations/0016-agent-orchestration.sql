-- Agent orchestration: platform-wide agent templates, versioned workflows and their runs, the webhook allow-list,
-- execution logs as JSONB documents (the default IExecutionLogStore), and what a durable execution needs on
-- agent_executions (its pinned agent version, attempts, deadline, next retry, and its place in a workflow run).
--
-- Differences from the design, and why:
-- * agent_templates has no tenant: the design's index (agent_type, version) names none, and a template is the
--   platform's catalogue to start agents from (design correction D14). Tenants read it; platform admins write it.
-- * agent_workflows and the runs live in PostgreSQL, not MongoDB (design correction D15): a run pins a definition
--   version and its transitions are audited in the same transaction, which needs one transactional store. The
--   MongoDB adapter holds the execution logs, the design's write-heavy, schema-free documents.

CREATE TABLE agent_templates
(
    id          uuid         NOT NULL DEFAULT gen_random_uuid(),
    agent_type  varchar(100) NOT NULL,
    version     varchar(50)  NOT NULL,
    name        varchar(255) NOT NULL,
    description text,
    config      jsonb        NOT NULL,
    timeout_ms  integer      NOT NULL,
    max_retries integer      NOT NULL,
    created_at  timestamptz  NOT NULL DEFAULT now(),
    created_by  varchar(255) NOT NULL,
    CONSTRAINT pk_agent_templates PRIMARY KEY (id),
    CONSTRAINT uq_agent_templates_type_version UNIQUE (agent_type, version)
);

GRANT SELECT, INSERT ON agent_templates TO phantom_app;

-- An agent row is one version; an execution keeps the row it started with.
ALTER TABLE agents ADD COLUMN template_id uuid REFERENCES agent_templates (id);
ALTER TABLE agents ADD COLUMN version_number integer NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX uq_agents_tenant_name_number ON agents (tenant_id, name, version_number);

ALTER TABLE agent_executions ADD COLUMN agent_name varchar(255) NOT NULL DEFAULT '';
ALTER TABLE agent_executions ADD COLUMN agent_version varchar(50) NOT NULL DEFAULT '';
ALTER TABLE agent_executions ADD COLUMN agent_type varchar(100) NOT NULL DEFAULT '';
ALTER TABLE agent_executions ADD COLUMN timeout_ms integer NOT NULL DEFAULT 30000;
ALTER TABLE agent_executions ADD COLUMN max_retries integer NOT NULL DEFAULT 0;
ALTER TABLE agent_executions ADD COLUMN attempt integer NOT NULL DEFAULT 0;
ALTER TABLE agent_executions ADD COLUMN next_attempt_at timestamptz;
ALTER TABLE agent_executions ADD COLUMN deadline_at timestamptz;
ALTER TABLE agent_executions ADD COLUMN waiting_for varchar(50);
ALTER TABLE agent_executions ADD COLUMN workflow_run_id uuid;
ALTER TABLE agent_executions ADD COLUMN step_name varchar(100);
ALTER TABLE agent_executions ADD COLUMN log_entries integer NOT NULL DEFAULT 0;
ALTER TABLE agent_executions ADD COLUMN log_dropped integer NOT NULL DEFAULT 0;
ALTER TABLE agent_executions ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- The grain key is {tenant}/{id}: executions are found by id within their tenant, whatever their month.
CREATE INDEX idx_agent_executions_id ON agent_executions (tenant_id, id);
CREATE INDEX idx_agent_executions_run ON agent_executions (tenant_id, workflow_run_id) WHERE workflow_run_id IS NOT NULL;

CREATE TABLE agent_workflows
(
    id            uuid         NOT NULL DEFAULT gen_random_uuid(),
    tenant_id     uuid         NOT NULL REFERENCES tenants (id),
    workflow_name varchar(255) NOT NULL,
    version       integer      NOT NULL,
    description   text,
    definition    jsonb        NOT NULL,
    created_at    timestamptz  NOT NULL DEFAULT now(),
    created_by    varchar(255) NOT NULL,
    CONSTRAINT pk_agent_workflows PRIMARY KEY (tenant_id, id),
    CONSTRAINT uq_agent_workflows_name_version UNIQUE (tenant_id, workflow_name, version)
);

-- The design's MongoDB index (tenant_id, workflow_name, created_at DESC).
CREATE INDEX idx_agent_workflows_name_time ON agent_workflows (tenant_id, workflow_name, created_at DESC);

CREATE TABLE agent_workflow_runs
(
    id               uuid                  NOT NULL,
    tenant_id        uuid                  NOT NULL,
    workflow_id      uuid                  NOT NULL,
    workflow_name    varchar(255)          NOT NULL,
    workflow_version integer               NOT NULL,
    status           execution_status_enum NOT NULL DEFAULT 'pending',
    input            jsonb                 NOT NULL,
    steps            jsonb                 NOT NULL DEFAULT '{}',
    created_at       timestamptz           NOT NULL DEFAULT now(),
    started_at       timestamptz,
    completed_at     timestamptz,
    updated_at       timestamptz           NOT NULL DEFAULT now(),
    error_details    jsonb,
    created_by       varchar(255)          NOT NULL,
    CONSTRAINT pk_agent_workflow_runs PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_agent_workflow_runs_workflow FOREIGN KEY (tenant_id, workflow_id) REFERENCES agent_workflows (tenant_id, id)
);

CREATE INDEX idx_agent_workflow_runs_time ON agent_workflow_runs (tenant_id, created_at DESC);
CREATE INDEX idx_agent_workflow_runs_open ON agent_workflow_runs (tenant_id) WHERE status IN ('pending', 'running');

-- Hosts a tenant's webhook agents may call; managed by its admins, not by whoever writes an agent.
CREATE TABLE agent_webhook_hosts
(
    tenant_id  uuid         NOT NULL REFERENCES tenants (id),
    host       varchar(253) NOT NULL,
    created_at timestamptz  NOT NULL DEFAULT now(),
    created_by varchar(255) NOT NULL,
    CONSTRAINT pk_agent_webhook_hosts PRIMARY KEY (tenant_id, host)
);

-- The design's MongoDB collection agent_execution_logs, as JSONB documents with its index
-- (tenant_id, agent_execution_id, timestamp). seq numbers an execution's entries (the execution assigns it), so a
-- write repeated after a crash adds nothing and pages never skip or repeat an entry.
CREATE TABLE agent_execution_logs
(
    tenant_id          uuid        NOT NULL REFERENCES tenants (id),
    agent_execution_id uuid        NOT NULL,
    seq                bigint      NOT NULL,
    timestamp          timestamptz NOT NULL,
    level              smallint    NOT NULL,
    document           jsonb       NOT NULL,
    CONSTRAINT pk_agent_execution_logs PRIMARY KEY (tenant_id, agent_execution_id, seq)
);

CREATE INDEX idx_agent_execution_logs_execution ON agent_execution_logs (tenant_id, agent_execution_id, timestamp);
CREATE INDEX idx_agent_execution_logs_time ON agent_execution_logs (tenant_id, timestamp);

DO $$
DECLARE
    scoped text;
BEGIN
    FOREACH scoped IN ARRAY ARRAY['agent_workflows', 'agent_workflow_runs', 'agent_webhook_hosts', 'agent_execution_logs']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', scoped);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', scoped);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = phantom_current_tenant()) WITH CHECK (tenant_id = phantom_current_tenant())', scoped);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO phantom_app', scoped);
    END LOOP;
END $$;

-- The agent resume sweep looks across tenants for executions and runs that are due (a retry whose time came, a
-- deadline passed, a running attempt silent since p_stale) because their activation may be gone; it sees ids and tenants only.
CREATE FUNCTION phantom_due_agent_work(p_now timestamptz, p_stale timestamptz, p_limit integer)
RETURNS TABLE (kind text, tenant_key varchar, id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$
    (SELECT 'execution', t.tenant_key, e.id
       FROM agent_executions e JOIN tenants t ON t.id = e.tenant_id
      WHERE e.status IN ('pending', 'running')
        AND (e.next_attempt_at <= p_now
             OR e.deadline_at <= p_now
             OR (e.waiting_for IS NULL AND e.next_attempt_at IS NULL AND e.updated_at <= p_stale))
      ORDER BY e.updated_at
      LIMIT p_limit)
    UNION ALL
    (SELECT 'run', t.tenant_key, r.id
       FROM agent_workflow_runs r JOIN tenants t ON t.id = r.tenant_id
      WHERE r.status IN ('pending', 'running') AND r.updated_at <= p_stale
      ORDER BY r.updated_at
      LIMIT p_limit)
$$;

-- Deletes log entries older than each tenant's agent_log_retention_days (the tier default when the tenant sets none).
CREATE FUNCTION phantom_expire_agent_logs(p_default_days jsonb)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
DECLARE
    deleted bigint;
BEGIN
    DELETE FROM agent_execution_logs l
     USING tenants t
     WHERE t.id = l.tenant_id
       AND l.timestamp < now() - make_interval(days => coalesce((t.resource_quotas ->> 'agent_log_retention_days')::int,
                                                               (p_default_days ->> t.subscription_tier)::int, 30));
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END
$$;

-- Both functions run as phantom_security (like the training watchdog's), which sees across tenants only what these
-- policies let it: open executions and runs, and log entries to delete.
CREATE POLICY security_agent_sweep ON agent_executions FOR SELECT TO phantom_security USING (status IN ('pending', 'running'));
CREATE POLICY security_agent_sweep ON agent_workflow_runs FOR SELECT TO phantom_security USING (status IN ('pending', 'running'));
CREATE POLICY security_log_expiry ON agent_execution_logs FOR SELECT TO phantom_security USING (true);
CREATE POLICY security_log_expiry_delete ON agent_execution_logs FOR DELETE TO phantom_security USING (true);
GRANT SELECT ON agent_executions, agent_workflow_runs TO phantom_security;
GRANT SELECT, DELETE ON agent_execution_logs TO phantom_security;
GRANT USAGE, CREATE ON SCHEMA public TO phantom_security;
ALTER FUNCTION phantom_due_agent_work(timestamptz, timestamptz, integer) OWNER TO phantom_security;
ALTER FUNCTION phantom_expire_agent_logs(jsonb) OWNER TO phantom_security;
REVOKE CREATE ON SCHEMA public FROM phantom_security;
REVOKE ALL ON FUNCTION phantom_due_agent_work(timestamptz, timestamptz, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION phantom_expire_agent_logs(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION phantom_due_agent_work(timestamptz, timestamptz, integer) TO phantom_app;
GRANT EXECUTE ON FUNCTION phantom_expire_agent_logs(jsonb) TO phantom_app;
