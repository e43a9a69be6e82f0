-- Audit & compliance, part 2 (docs/compliance.md): GDPR privacy requests (access and erasure), the personal parts of
-- audit rows committed separately so erasure can remove them while the chain still verifies, and compliance reports
-- (the design's compliance_reports table, unchanged).
--
-- * privacy_requests: one row per access export or erasure. An erasure's subject is replaced by its pseudonym
--   ("erased:{request id}") when it completes, so the request does not keep what it erased.
-- * From this migration on the chain seals a row in format phantom-audit-v2: the personal part of a row (who acted:
--   user_id, session_id, ip_address, user_agent; who the row is about when resource_type = 'user': resource_id; and
--   the personal keys of details) enters the record hash only as SHA-256(salt || part), with a random salt per row and
--   part kept in audit_personal_salts. Erasure blanks the part and deletes its salt: the stored part hash still links
--   the chain, and without the salt nobody can test a guess (an address, an e-mail) against it.
-- * audit_logs stays append-only for the application: only phantom_erase_audit_subject (owner, security definer)
--   changes rows, only for an erasure request of the current tenant that is still open, and only in the way above.

CREATE TABLE privacy_requests
(
    id           uuid         NOT NULL DEFAULT gen_random_uuid(),
    tenant_id    uuid         NOT NULL REFERENCES tenants (id),
    kind         varchar(20)  NOT NULL,
    subject_ref  varchar(255) NOT NULL,
    status       varchar(20)  NOT NULL DEFAULT 'received',
    requested_by varchar(255) NOT NULL,
    requested_at timestamptz  NOT NULL DEFAULT now(),
    completed_at timestamptz,
    details      jsonb,
    CONSTRAINT pk_privacy_requests PRIMARY KEY (id),
    CONSTRAINT ck_privacy_requests_kind CHECK (kind IN ('access', 'erasure')),
    CONSTRAINT ck_privacy_requests_status CHECK (status IN ('received', 'completed', 'failed'))
);

CREATE INDEX idx_privacy_requests_tenant ON privacy_requests (tenant_id, requested_at DESC);

ALTER TABLE audit_chain ADD COLUMN actor_hash bytea;
ALTER TABLE audit_chain ADD COLUMN subject_hash bytea;

CREATE TABLE audit_personal_salts
(
    tenant_id       uuid        NOT NULL,
    audit_timestamp timestamptz NOT NULL,
    audit_id        uuid        NOT NULL,
    actor_salt      bytea,
    subject_salt    bytea,
    CONSTRAINT pk_audit_personal_salts PRIMARY KEY (tenant_id, audit_timestamp, audit_id)
);

DO $$
DECLARE
    scoped text;
BEGIN
    FOREACH scoped IN ARRAY ARRAY['privacy_requests', 'audit_personal_salts']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', scoped);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', scoped);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = phantom_current_tenant()) WITH CHECK (tenant_id = phantom_current_tenant())', scoped);
    END LOOP;
END $$;

GRANT SELECT, INSERT, UPDATE ON privacy_requests TO phantom_app;
-- A salt is written once when its row is sealed and cleared (never changed) by an erasure.
GRANT SELECT, INSERT, UPDATE (actor_salt, subject_salt) ON audit_personal_salts TO phantom_app;

-- Erases one data subject from the current tenant's audit rows for the open erasure request p_request
-- (docs/compliance.md#erasure). Rows about the subject lose the subject part: a row about the user or their keys
-- (resource_type 'tenant-user' or 'api-key' named by the user's id) its resource id, and the personal keys of details
-- go from rows about the user, rows whose details name the user (userId, user), and the user's own rows that name
-- nobody else. Rows the subject made lose the actor
-- part: user_id becomes the request's pseudonym, session, address and user agent go. The salts of those parts are
-- cleared, and the idempotency records name the pseudonym. Rows sealed in format v1 (before this migration: their
-- personal fields are inside the record hash) are left as they are and counted. Returns the three counts.
CREATE FUNCTION phantom_erase_audit_subject(p_request uuid, p_personal_keys text[])
RETURNS TABLE (actor_rows bigint, subject_rows bigint, kept_v1_rows bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
DECLARE
    v_tenant    uuid := phantom_current_tenant();
    v_subject   varchar(255);
    v_pseudonym varchar(255) := 'erased:' || p_request::text;
BEGIN
    SELECT r.subject_ref INTO v_subject FROM privacy_requests r
     WHERE r.tenant_id = v_tenant AND r.id = p_request AND r.kind = 'erasure' AND r.status = 'received';
    IF v_subject IS NULL THEN
        RAISE EXCEPTION 'no open erasure request % in this tenant', p_request USING ERRCODE = 'P0002';
    END IF;

    -- The tenant's sealer holds this lock while it salts and hashes rows: a row is either sealed before it is erased
    -- (its salt is cleared here) or after (it is sealed as erased), never read before and salted after.
    PERFORM 1 FROM audit_chain_heads WHERE tenant_id = v_tenant FOR UPDATE;

    SELECT count(*) INTO kept_v1_rows FROM audit_logs a
     WHERE a.tenant_id = v_tenant AND (a.user_id = v_subject OR a.resource_id = v_subject OR a.details ->> 'userId' = v_subject)
       AND EXISTS (SELECT 1 FROM audit_chain c WHERE c.tenant_id = v_tenant AND c.audit_timestamp = a."timestamp" AND c.audit_id = a.id
                      AND c.actor_hash IS NULL);

    WITH erased AS (
        UPDATE audit_logs a
           SET resource_id = CASE WHEN a.resource_type IN ('tenant-user', 'api-key') AND a.resource_id = v_subject
                                  THEN v_pseudonym ELSE a.resource_id END,
               details = a.details - p_personal_keys
         WHERE a.tenant_id = v_tenant
           AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.tenant_id = v_tenant AND c.audit_timestamp = a."timestamp"
                              AND c.audit_id = a.id AND c.actor_hash IS NULL)
           AND ((a.resource_type IN ('tenant-user', 'api-key') AND a.resource_id = v_subject)
                OR a.details ->> 'userId' = v_subject OR a.details ->> 'user' = v_subject
                OR (a.resource_type NOT IN ('tenant-user', 'api-key') AND a.user_id = v_subject
                    AND NOT (a.details ? 'userId' OR a.details ? 'user')))
     RETURNING a."timestamp", a.id),
    cleared AS (
        UPDATE audit_personal_salts s SET subject_salt = NULL
          FROM erased e WHERE s.tenant_id = v_tenant AND s.audit_timestamp = e."timestamp" AND s.audit_id = e.id)
    SELECT count(*) INTO subject_rows FROM erased;

    WITH erased AS (
        UPDATE audit_logs a
           SET user_id = v_pseudonym, session_id = NULL, ip_address = NULL, user_agent = NULL
         WHERE a.tenant_id = v_tenant AND a.user_id = v_subject
           AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.tenant_id = v_tenant AND c.audit_timestamp = a."timestamp"
                              AND c.audit_id = a.id AND c.actor_hash IS NULL)
     RETURNING a."timestamp", a.id),
    cleared AS (
        UPDATE audit_personal_salts s SET actor_salt = NULL
          FROM erased e WHERE s.tenant_id = v_tenant AND s.audit_timestamp = e."timestamp" AND s.audit_id = e.id)
    SELECT count(*) INTO actor_rows FROM erased;

    UPDATE audit_event_ids SET user_id = v_pseudonym WHERE tenant_id = v_tenant AND user_id = v_subject;
    RETURN NEXT;
END
$$;

REVOKE ALL ON FUNCTION phantom_erase_audit_subject(uuid, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION phantom_erase_audit_subject(uuid, text[]) TO phantom_app;

-- A tenant's creation is audited in the same transaction, by a row written before the tenant row exists: the policy
-- trigger could not see the tenant's frameworks, so that row got the default retention and no framework tags. Once the
-- tenant row is in, its rows so far (only that transaction's: a refused creation is audited in the platform tenant)
-- get what the frameworks require. They are not sealed yet: the chain only takes committed rows.
CREATE FUNCTION phantom_audit_tenant_created() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
BEGIN
    UPDATE audit_logs a
       SET retention_until = greatest(a.retention_until, a."timestamp" + phantom_audit_retention(NEW.id)),
           compliance_tags = ARRAY(
               SELECT f FROM unnest(coalesce(NEW.compliance_frameworks, '{}')) f
                WHERE NOT EXISTS (SELECT 1 FROM audit_framework_rules r
                                   WHERE r.framework = f AND r.event_types IS NOT NULL AND NOT a.event_type = ANY (r.event_types))
                  AND NOT f = ANY (coalesce(a.compliance_tags, '{}'))
               UNION ALL SELECT unnest(coalesce(a.compliance_tags, '{}')))
     WHERE a.tenant_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER tr_tenants_audit_policy AFTER INSERT ON tenants FOR EACH ROW EXECUTE FUNCTION phantom_audit_tenant_created();
REVOKE ALL ON FUNCTION phantom_audit_tenant_created() FROM PUBLIC;
