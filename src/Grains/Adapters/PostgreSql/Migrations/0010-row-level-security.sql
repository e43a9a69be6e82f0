-- Tenant isolation in the database itself (design corrections D5 and D6), API keys, and the platform tenant.
--
-- * The application connects as phantom_app: a LOGIN role that owns nothing and has NOBYPASSRLS,
--   created by the operator (scripts/services.sh locally; see docs/security.md for an external server).
--   Migrations run as the owner; the application never does.
-- * Every tenant-scoped table has ENABLE and FORCE ROW LEVEL SECURITY (FORCE: the owner is bound too)
--   and one policy: tenant_id = phantom_current_tenant(). The tenant comes from the transaction-local
--   setting app.current_tenant_id (set_config(..., true)), so a pooled connection never carries a tenant
--   into the next transaction; read with missing_ok, so a transaction that set no tenant sees no rows
--   (fail closed) instead of raising.
-- * The application gets privileges on partitioned parents only, never on their partitions, so every
--   access goes through the parent's policy. audit_logs is append-only for it (SELECT, INSERT).
-- * The few operations that must work before a tenant is known (authenticating an API key, resolving a
--   tenant key, listing tenants for the platform admin) are SECURITY DEFINER functions owned by
--   phantom_security, a NOLOGIN role that owns no table and is not BYPASSRLS either: it sees rows across
--   tenants only through policies written for it, on exactly the tables and commands those functions need.
--   Partition DDL is SECURITY DEFINER as the owner (only a table's owner may attach or drop partitions).
--   All of them have a fixed search_path and are executable by phantom_app only.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'phantom_app')
       OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'phantom_security') THEN
        RAISE EXCEPTION 'roles phantom_app and phantom_security must exist first (see README, "PostgreSQL roles")';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname IN ('phantom_app', 'phantom_security') AND (rolsuper OR rolbypassrls)) THEN
        RAISE EXCEPTION 'roles phantom_app and phantom_security must not be SUPERUSER or BYPASSRLS: row-level security would not bind them';
    END IF;
END $$;

CREATE FUNCTION phantom_current_tenant() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('app.current_tenant_id', true), '')::uuid $$;

-- The platform's own tenant: the home of platform-admin audit events. Never addressable through the API.
INSERT INTO tenants (id, tenant_key, name, status, subscription_tier, resource_quotas, created_by)
VALUES ('00000000-0000-0000-0000-000000000000', 'platform', 'Platform', 'active', 'platform', '{}', 'migration');

-- API keys: shown once, stored as SHA-256 of the whole key (keys are 256-bit random, so a fast hash is
-- safe), found by a short public prefix. Platform-admin keys have no tenant.
CREATE TABLE api_keys
(
    id                  uuid         NOT NULL,
    tenant_id           uuid         REFERENCES tenants (id),
    tenant_user_id      uuid         REFERENCES tenant_users (id),
    platform_admin_name varchar(100),
    name                varchar(100) NOT NULL,
    prefix              varchar(16)  NOT NULL,
    secret_hash         bytea        NOT NULL,
    created_at          timestamptz  NOT NULL DEFAULT now(),
    created_by          varchar(255) NOT NULL,
    expires_at          timestamptz,
    revoked_at          timestamptz,
    last_used_at        timestamptz,
    CONSTRAINT pk_api_keys PRIMARY KEY (id),
    CONSTRAINT uq_api_keys_prefix UNIQUE (prefix),
    CONSTRAINT ck_api_keys_owner CHECK (
        (tenant_id IS NOT NULL AND tenant_user_id IS NOT NULL AND platform_admin_name IS NULL)
        OR (tenant_id IS NULL AND tenant_user_id IS NULL AND platform_admin_name IS NOT NULL))
);

CREATE INDEX idx_api_keys_user ON api_keys (tenant_id, tenant_user_id);

-- ---- Policies -------------------------------------------------------------------------------------

DO $$
DECLARE
    scoped text;
BEGIN
    FOREACH scoped IN ARRAY ARRAY[
        'tenant_users', 'tenant_resource_usage', 'models', 'model_versions', 'model_lineage', 'model_artifacts',
        'training_jobs', 'training_experiments', 'inference_jobs', 'agents', 'agent_executions', 'audit_logs',
        'audit_event_ids', 'data_lineage', 'compliance_reports', 'api_keys']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', scoped);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', scoped);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = phantom_current_tenant()) WITH CHECK (tenant_id = phantom_current_tenant())', scoped);
    END LOOP;
END $$;

-- Platform-admin keys have no tenant: only the schema owner (the operator's bootstrap) manages them.
CREATE POLICY platform_admin_keys ON api_keys TO CURRENT_USER USING (tenant_id IS NULL) WITH CHECK (tenant_id IS NULL);

-- tenants is keyed by id rather than tenant_id.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (id = phantom_current_tenant()) WITH CHECK (id = phantom_current_tenant());

-- ---- Functions that run before a tenant is known -------------------------------------------------

-- The tenant behind a tenant key, for routing; nothing else about it.
CREATE FUNCTION phantom_resolve_tenant(p_tenant_key varchar)
RETURNS TABLE (id uuid, status tenant_status_enum)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT id, status FROM tenants WHERE tenant_key = p_tenant_key AND id <> '00000000-0000-0000-0000-000000000000' $$;

-- Tenants in key order after p_after, for the platform admin's listing.
CREATE FUNCTION phantom_list_tenants(p_after varchar, p_limit integer)
RETURNS SETOF tenants
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$
    SELECT * FROM tenants
     WHERE id <> '00000000-0000-0000-0000-000000000000' AND (p_after IS NULL OR tenant_key > p_after)
     ORDER BY tenant_key LIMIT least(greatest(p_limit, 1), 500)
$$;

-- Finds an API key by prefix and hash. Returns the key whatever its state (revoked, expired, disabled
-- user, suspended tenant), so the caller can say why it is refused and audit the attempt in the key's
-- tenant. Marks the key (and its user's last login) used, at most once a minute to spare writes.
CREATE FUNCTION phantom_authenticate_api_key(p_prefix varchar, p_secret_hash bytea)
RETURNS TABLE (key_id uuid, tenant_id uuid, tenant_key varchar, tenant_status tenant_status_enum,
               tenant_user_id uuid, user_id varchar, user_status user_status_enum, roles text[],
               permissions jsonb, platform_admin_name varchar, expires_at timestamptz, revoked_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT k.id, k.tenant_id, t.tenant_key, t.status, k.tenant_user_id, u.user_id, u.status,
           CASE WHEN k.platform_admin_name IS NOT NULL THEN ARRAY['platform-admin'] ELSE u.roles END,
           u.permissions, k.platform_admin_name, k.expires_at, k.revoked_at
      FROM api_keys k
      LEFT JOIN tenants t ON t.id = k.tenant_id
      LEFT JOIN tenant_users u ON u.id = k.tenant_user_id
     WHERE k.prefix = p_prefix AND k.secret_hash = p_secret_hash;

    IF FOUND THEN
        UPDATE api_keys k SET last_used_at = now()
         WHERE k.prefix = p_prefix AND k.revoked_at IS NULL AND (k.last_used_at IS NULL OR k.last_used_at < now() - interval '1 minute');
        UPDATE tenant_users u SET last_login_at = now()
          FROM api_keys k
         WHERE k.prefix = p_prefix AND u.id = k.tenant_user_id AND k.revoked_at IS NULL
           AND (u.last_login_at IS NULL OR u.last_login_at < now() - interval '1 minute');
    END IF;
END
$$;

-- Partition maintenance is DDL, which only the owner may do: the job calls these as the application.
ALTER FUNCTION phantom_ensure_range_partition(regclass, text, timestamptz, timestamptz) SECURITY DEFINER SET search_path = public, pg_temp;
ALTER FUNCTION phantom_drop_range_partitions_before(regclass, timestamptz) SECURITY DEFINER SET search_path = public, pg_temp;

-- Event ids are forgotten with the audit partitions that held them, across tenants.
CREATE FUNCTION phantom_forget_audit_event_ids(p_before timestamptz)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
DECLARE forgotten bigint;
BEGIN
    DELETE FROM audit_event_ids WHERE "timestamp" < p_before;
    GET DIAGNOSTICS forgotten = ROW_COUNT;
    RETURN forgotten;
END
$$;

-- What phantom_security may see and do, and nothing more.
CREATE POLICY security_lookup ON tenants FOR SELECT TO phantom_security USING (true);
CREATE POLICY security_lookup ON tenant_users FOR SELECT TO phantom_security USING (true);
CREATE POLICY security_login ON tenant_users FOR UPDATE TO phantom_security USING (true) WITH CHECK (true);
CREATE POLICY security_lookup ON api_keys FOR SELECT TO phantom_security USING (true);
CREATE POLICY security_used ON api_keys FOR UPDATE TO phantom_security USING (true) WITH CHECK (true);
CREATE POLICY security_lookup ON audit_event_ids FOR SELECT TO phantom_security USING (true);
CREATE POLICY security_forget ON audit_event_ids FOR DELETE TO phantom_security USING (true);
GRANT SELECT ON tenants TO phantom_security;
GRANT SELECT, UPDATE (last_login_at) ON tenant_users TO phantom_security;
GRANT SELECT, UPDATE (last_used_at) ON api_keys TO phantom_security;
GRANT SELECT, DELETE ON audit_event_ids TO phantom_security;

-- A new owner needs CREATE on the schema at the moment of the change only.
GRANT USAGE, CREATE ON SCHEMA public TO phantom_security;
ALTER FUNCTION phantom_resolve_tenant(varchar) OWNER TO phantom_security;
ALTER FUNCTION phantom_list_tenants(varchar, integer) OWNER TO phantom_security;
ALTER FUNCTION phantom_authenticate_api_key(varchar, bytea) OWNER TO phantom_security;
ALTER FUNCTION phantom_forget_audit_event_ids(timestamptz) OWNER TO phantom_security;
REVOKE CREATE ON SCHEMA public FROM phantom_security;

-- ---- Privileges of the application role ----------------------------------------------------------

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO phantom_app;

GRANT SELECT ON schema_migrations TO phantom_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON orleansquery, orleansmembershipversiontable, orleansmembershiptable,
    orleansstorage, orleansreminderstable TO phantom_app;

GRANT SELECT, INSERT, UPDATE ON tenants TO phantom_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tenant_users, tenant_resource_usage, api_keys, models, model_versions,
    model_lineage, model_artifacts, training_jobs, training_experiments, inference_jobs, agents, agent_executions,
    data_lineage, compliance_reports TO phantom_app;
-- The audit trail is append-only for the application.
GRANT SELECT, INSERT ON audit_logs, audit_event_ids TO phantom_app;
