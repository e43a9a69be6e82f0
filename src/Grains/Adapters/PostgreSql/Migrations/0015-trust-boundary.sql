-- The trust boundary in the database: what an SDK client may read, references that stay inside one tenant, upload
-- tickets the server keeps, a credential epoch that never goes backwards, and idempotency per caller and request.
--
-- * phantom_membership is the only role an SDK client needs when it finds the gateways through PostgreSQL: it reads
--   the columns of the gateway query and nothing else (no tenant table, no cluster secret, no function). It is
--   created here when missing (the migrating role then needs CREATEROLE) without LOGIN: the operator enables it with
--   ALTER ROLE phantom_membership LOGIN PASSWORD '...'. scripts/services.sh creates it with a password beforehand.
-- * No function is executable by PUBLIC, now or later: phantom_app is granted each one (by default privileges).
-- * Every reference from a tenant's row to another row carries tenant_id (design correction D13): a foreign key to
--   model_versions (id) alone is checked without row-level security, so a row of one tenant could point at (and
--   block) another tenant's version.
-- * artifact_uploads holds each upload ticket: the server reads its object key, size and owner from here, never from
--   the client; its size is reserved against artifact_bytes until it completes or expires.
-- * credential_epoch moves whenever a caller's rights narrow; silos trust a remembered caller only under the current
--   value. A sequence survives restarts and never goes backwards (Redis only mirrors it).
-- * An idempotency key names one request of one caller (design correction D2): audit_event_ids is keyed by (tenant,
--   user, event id) and keeps a fingerprint of the operation, so the same key sent again for another operation is told
--   apart from a replay.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'phantom_membership') THEN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolcreaterole OR rolsuper)) THEN
            RAISE EXCEPTION 'role phantom_membership must exist first, or the migrating role needs CREATEROLE (README: PostgreSQL roles)';
        END IF;
        CREATE ROLE phantom_membership NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'phantom_membership' AND (rolsuper OR rolbypassrls OR rolcreaterole)) THEN
        RAISE EXCEPTION 'role phantom_membership must not be SUPERUSER, BYPASSRLS or CREATEROLE';
    END IF;
END $$;

-- What the ADO.NET clustering client reads: the query texts, then the gateway query's columns.
GRANT SELECT (querykey, querytext) ON orleansquery TO phantom_membership;
GRANT SELECT (deploymentid, address, proxyport, generation, status) ON orleansmembershiptable TO phantom_membership;

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO phantom_app;

-- ---- References inside one tenant ---------------------------------------------------------------------

ALTER TABLE model_versions ADD CONSTRAINT uq_model_versions_tenant_id UNIQUE (tenant_id, id);
ALTER TABLE tenant_users ADD CONSTRAINT uq_tenant_users_tenant_id UNIQUE (tenant_id, id);

ALTER TABLE model_artifacts
    DROP CONSTRAINT model_artifacts_model_version_id_fkey,
    ADD CONSTRAINT fk_model_artifacts_version FOREIGN KEY (tenant_id, model_version_id) REFERENCES model_versions (tenant_id, id) ON DELETE CASCADE;

ALTER TABLE model_aliases
    DROP CONSTRAINT model_aliases_version_id_fkey,
    DROP CONSTRAINT model_aliases_challenger_version_id_fkey,
    DROP CONSTRAINT model_aliases_shadow_version_id_fkey,
    ADD CONSTRAINT fk_model_aliases_version FOREIGN KEY (tenant_id, version_id) REFERENCES model_versions (tenant_id, id) ON DELETE CASCADE,
    ADD CONSTRAINT fk_model_aliases_challenger FOREIGN KEY (tenant_id, challenger_version_id)
        REFERENCES model_versions (tenant_id, id) ON DELETE SET NULL (challenger_version_id),
    ADD CONSTRAINT fk_model_aliases_shadow FOREIGN KEY (tenant_id, shadow_version_id)
        REFERENCES model_versions (tenant_id, id) ON DELETE SET NULL (shadow_version_id);

ALTER TABLE api_keys
    DROP CONSTRAINT api_keys_tenant_user_id_fkey,
    ADD CONSTRAINT fk_api_keys_user FOREIGN KEY (tenant_id, tenant_user_id) REFERENCES tenant_users (tenant_id, id);

-- ---- Upload tickets ---------------------------------------------------------------------------------

CREATE TABLE artifact_uploads
(
    id          uuid         NOT NULL,
    tenant_id   uuid         NOT NULL,
    model_id    uuid         NOT NULL,
    version_id  uuid         NOT NULL,
    object_key  text         NOT NULL,
    size_bytes  bigint       NOT NULL CHECK (size_bytes > 0),
    api_key_id  uuid,        -- the key that asked for it (null for a platform component)
    created_by  varchar(255) NOT NULL,
    created_at  timestamptz  NOT NULL DEFAULT now(),
    expires_at  timestamptz  NOT NULL,
    CONSTRAINT pk_artifact_uploads PRIMARY KEY (tenant_id, id),
    CONSTRAINT fk_artifact_uploads_model FOREIGN KEY (tenant_id, model_id) REFERENCES models (tenant_id, id) ON DELETE CASCADE,
    CONSTRAINT fk_artifact_uploads_version FOREIGN KEY (tenant_id, version_id) REFERENCES model_versions (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX idx_artifact_uploads_expiry ON artifact_uploads (tenant_id, expires_at);

ALTER TABLE artifact_uploads ENABLE ROW LEVEL SECURITY;
ALTER TABLE artifact_uploads FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON artifact_uploads USING (tenant_id = phantom_current_tenant()) WITH CHECK (tenant_id = phantom_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON artifact_uploads TO phantom_app;

-- Admission of batch runs counts a tenant's unfinished batches.
CREATE INDEX idx_inference_batches_unfinished ON inference_batches (tenant_id) WHERE status IN ('pending', 'running');

-- ---- Credential epoch ---------------------------------------------------------------------------------

CREATE SEQUENCE credential_epoch;
SELECT nextval('credential_epoch'); -- from here on last_value is exact: 1, then every narrowing change adds one
GRANT USAGE, SELECT ON SEQUENCE credential_epoch TO phantom_app;

-- ---- Idempotency per caller and request -------------------------------------------------------------------

ALTER TABLE audit_event_ids
    ADD COLUMN user_id varchar(255) NOT NULL DEFAULT '',
    ADD COLUMN fingerprint bytea;
ALTER TABLE audit_event_ids DROP CONSTRAINT pk_audit_event_ids,
    ADD CONSTRAINT pk_audit_event_ids PRIMARY KEY (tenant_id, user_id, event_id);

-- Writes an audit row once per (tenant, user, event id). Returns 1 when it recorded the event, 0 when this caller sent
-- this same request before (same fingerprint: a replay, nothing is written), -1 when this caller used the event id for
-- a different request.
CREATE FUNCTION record_audit_event_once(
    p_tenant_id uuid, p_event_id varchar, p_fingerprint bytea, p_timestamp timestamptz, p_user_id varchar, p_session_id varchar,
    p_event_type audit_event_type_enum, p_resource_type varchar, p_resource_id varchar, p_action varchar,
    p_result audit_result_enum, p_ip_address inet, p_user_agent text, p_risk_score decimal,
    p_details jsonb, p_compliance_tags text[], p_retention_until timestamptz)
RETURNS smallint LANGUAGE plpgsql AS
$$
DECLARE
    previous bytea;
BEGIN
    INSERT INTO audit_event_ids (tenant_id, user_id, event_id, "timestamp", fingerprint)
    VALUES (p_tenant_id, p_user_id, p_event_id, p_timestamp, p_fingerprint)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        SELECT fingerprint INTO previous FROM audit_event_ids
         WHERE tenant_id = p_tenant_id AND user_id = p_user_id AND event_id = p_event_id;
        RETURN CASE WHEN previous IS NOT DISTINCT FROM p_fingerprint THEN 0 ELSE -1 END;
    END IF;

    INSERT INTO audit_logs (tenant_id, event_id, "timestamp", user_id, session_id, event_type, resource_type,
                            resource_id, action, result, ip_address, user_agent, risk_score, details,
                            compliance_tags, retention_until)
    VALUES (p_tenant_id, p_event_id, p_timestamp, p_user_id, p_session_id, p_event_type, p_resource_type,
            p_resource_id, p_action, p_result, p_ip_address, p_user_agent, p_risk_score, p_details,
            p_compliance_tags, p_retention_until);
    RETURN 1;
END
$$;

-- The earlier signature, kept for callers that need no fingerprint: true when recorded.
CREATE OR REPLACE FUNCTION record_audit_event(
    p_tenant_id uuid, p_event_id varchar, p_timestamp timestamptz, p_user_id varchar, p_session_id varchar,
    p_event_type audit_event_type_enum, p_resource_type varchar, p_resource_id varchar, p_action varchar,
    p_result audit_result_enum, p_ip_address inet, p_user_agent text, p_risk_score decimal,
    p_details jsonb, p_compliance_tags text[], p_retention_until timestamptz)
RETURNS boolean LANGUAGE sql AS
$$
    SELECT record_audit_event_once(p_tenant_id, p_event_id, NULL, p_timestamp, p_user_id, p_session_id, p_event_type, p_resource_type,
                                   p_resource_id, p_action, p_result, p_ip_address, p_user_agent, p_risk_score, p_details,
                                   p_compliance_tags, p_retention_until) = 1
$$;
REVOKE ALL ON FUNCTION record_audit_event_once(uuid, varchar, bytea, timestamptz, varchar, varchar, audit_event_type_enum, varchar, varchar,
    varchar, audit_result_enum, inet, text, decimal, jsonb, text[], timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION record_audit_event_once(uuid, varchar, bytea, timestamptz, varchar, varchar, audit_event_type_enum, varchar, varchar,
    varchar, audit_result_enum, inet, text, decimal, jsonb, text[], timestamptz) TO phantom_app;
