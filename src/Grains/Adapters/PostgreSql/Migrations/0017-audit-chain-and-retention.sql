-- Audit & compliance, part 1: every column of audit_logs means something, retention per framework, a hash chain per
-- tenant with signed digests, and full-text search.
--
-- * risk_score, compliance_tags and retention_until are filled by a BEFORE INSERT trigger from documented rules
--   (docs/audit.md), so every way a row is written gets them. A caller may still pass its own values.
-- * retention_until = timestamp + the longest of the tenant's audit_retention_days and the minimum of each compliance
--   framework the tenant follows (audit_framework_rules: HIPAA six years, SOC2 and PCI-DSS one year, SOX seven).
-- * The hash chain is assigned after commit by one sealer per tenant (the tenant's audit chain grain): every insert
--   queues (tenant, row) in audit_chain_pending from an AFTER INSERT trigger; the sealer takes the committed queue in
--   order, links each row to the previous hash and writes audit_chain. Writers never wait for each other or for the
--   chain, and tenants never wait for each other; a row is sealed in the order its commit became visible.
-- * audit_chain binds each row's retention_until into the link, so a row removed by retention is told apart from a row
--   deleted by someone else: only a row whose retention_until has passed may be missing.
-- * audit_digests are signed statements of a tenant's chain head per period (ECDSA P-256 keys from configuration).
-- * search_vector: a tsvector over the words of a row (no addresses or user agents) with a GIN index per partition,
--   and the tenant's rows picked by the btree index on tenant_id (a tenant-first GIN needs btree_gin, whose functions every
--   role could execute, which this schema refuses).

CREATE TABLE audit_framework_rules
(
    framework         varchar(20)             NOT NULL,
    minimum_retention interval                NOT NULL,
    event_types       audit_event_type_enum[],  -- NULL: every event type is in scope
    description       text                    NOT NULL,
    CONSTRAINT pk_audit_framework_rules PRIMARY KEY (framework)
);

INSERT INTO audit_framework_rules (framework, minimum_retention, event_types, description) VALUES
    ('HIPAA', interval '6 years', NULL, '45 CFR 164.316(b)(2): documentation kept six years'),
    ('SOC2', interval '1 year', NULL, 'Type II reports cover a twelve-month period of evidence'),
    ('PCI-DSS', interval '1 year', NULL, 'Requirement 10.5.1: audit history kept at least twelve months'),
    ('SOX', interval '7 years', NULL, 'Section 802: audit records kept seven years'),
    ('GDPR', interval '0', ARRAY['authentication', 'authorization', 'user_management', 'data_access', 'data_modification',
        'compliance']::audit_event_type_enum[], 'No minimum (storage limitation): personal-data processing is tagged');

GRANT SELECT ON audit_framework_rules TO phantom_app;

-- The platform default when a tenant sets no audit_retention_days; the quota table's default (Quotas.cs) is the same.
CREATE FUNCTION phantom_default_audit_retention_days() RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 365 $$;

-- The tenant's retention of audit rows: its own setting or the default, never less than its frameworks require.
CREATE FUNCTION phantom_audit_retention(p_tenant_id uuid) RETURNS interval LANGUAGE sql STABLE AS
$$
    SELECT greatest(
               make_interval(days => coalesce((t.resource_quotas ->> 'audit_retention_days')::integer,
                                              phantom_default_audit_retention_days())),
               coalesce((SELECT max(r.minimum_retention) FROM audit_framework_rules r
                          WHERE r.framework = ANY (t.compliance_frameworks)), interval '0'))
      FROM (SELECT 1) one LEFT JOIN tenants t ON t.id = p_tenant_id
$$;

CREATE INDEX idx_audit_logs_tenant_user ON audit_logs (tenant_id, user_id, "timestamp" DESC);
CREATE INDEX idx_audit_logs_retention ON audit_logs (retention_until);

-- Risk rules, documented in docs/audit.md. The address rule looks at the user's last 200 events of 30 days only.
CREATE FUNCTION phantom_audit_risk(a audit_logs) RETURNS decimal LANGUAGE plpgsql STABLE AS
$$
DECLARE
    score decimal := 0;
    seen_before boolean;
    seen_here boolean;
BEGIN
    score := score + CASE a.result WHEN 'denied' THEN 0.40 WHEN 'failure' THEN 0.15 ELSE 0 END;
    IF a.event_type IN ('authentication', 'authorization') AND a.result <> 'success' THEN
        score := score + 0.10;
    END IF;
    IF a.action IN ('add-user', 'update-user') AND a.details ? 'roles' OR a.action = 'grant-role' THEN
        score := score + 0.30;  -- privilege change
    END IF;
    IF a.action = 'create-api-key' THEN
        score := score + 0.25;
    END IF;
    IF a.event_type IN ('configuration_change', 'tenant_management') AND a.action <> 'read' THEN
        score := score + 0.20;
    END IF;
    IF a.action IN ('export', 'gdpr-access', 'download-output', 'erase-user') THEN
        score := score + 0.30;  -- bulk export or erasure
    END IF;
    IF extract(hour FROM a."timestamp" AT TIME ZONE 'UTC') < 6 THEN
        score := score + 0.10;  -- unusual hours (00:00-06:00 UTC)
    END IF;
    IF a.ip_address IS NOT NULL THEN
        SELECT count(*) > 0, coalesce(bool_or(recent.ip_address = a.ip_address), false) INTO seen_before, seen_here
          FROM (SELECT l.ip_address FROM audit_logs l
                 WHERE l.tenant_id = a.tenant_id AND l.user_id = a.user_id
                   AND l."timestamp" > a."timestamp" - interval '30 days' AND l."timestamp" <= a."timestamp"
                   AND l.ip_address IS NOT NULL
                 ORDER BY l."timestamp" DESC LIMIT 200) recent;
        IF seen_before AND NOT seen_here THEN
            score := score + 0.20;  -- an address this user has not used in 30 days
        END IF;
    END IF;
    RETURN least(score, 1.00);
END
$$;

CREATE FUNCTION phantom_audit_policy() RETURNS trigger LANGUAGE plpgsql AS
$$
DECLARE
    frameworks text[];
BEGIN
    IF NEW.risk_score IS NULL THEN
        NEW.risk_score := phantom_audit_risk(NEW);
    END IF;
    IF NEW.compliance_tags IS NULL THEN
        SELECT t.compliance_frameworks INTO frameworks FROM tenants t WHERE t.id = NEW.tenant_id;
        NEW.compliance_tags := ARRAY(
            SELECT f FROM unnest(coalesce(frameworks, '{}')) f
             WHERE NOT EXISTS (SELECT 1 FROM audit_framework_rules r
                                WHERE r.framework = f AND r.event_types IS NOT NULL AND NOT NEW.event_type = ANY (r.event_types))
            UNION ALL SELECT 'security' WHERE NEW.event_type IN ('authentication', 'authorization') OR NEW.result = 'denied'
            UNION ALL SELECT 'privileged' WHERE NEW.action IN ('create-api-key', 'revoke-api-key', 'grant-role')
                                              OR NEW.action IN ('add-user', 'update-user') AND NEW.details ? 'roles'
            UNION ALL SELECT 'personal-data' WHERE NEW.resource_type IN ('tenant-user', 'user') OR NEW.action IN ('gdpr-access', 'erase-user'));
    END IF;
    IF NEW.retention_until IS NULL THEN
        NEW.retention_until := NEW."timestamp" + phantom_audit_retention(NEW.tenant_id);
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER tr_audit_logs_policy BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION phantom_audit_policy();

-- ---- Hash chain -------------------------------------------------------------------------------------

CREATE TABLE audit_chain_pending
(
    pending_id      bigserial   NOT NULL,
    tenant_id       uuid        NOT NULL,
    audit_timestamp timestamptz NOT NULL,
    audit_id        uuid        NOT NULL,
    CONSTRAINT pk_audit_chain_pending PRIMARY KEY (tenant_id, pending_id)
);

CREATE FUNCTION phantom_audit_queue_for_chain() RETURNS trigger LANGUAGE plpgsql AS
$$
BEGIN
    INSERT INTO audit_chain_pending (tenant_id, audit_timestamp, audit_id) VALUES (NEW.tenant_id, NEW."timestamp", NEW.id);
    RETURN NULL;
END
$$;

CREATE TRIGGER tr_audit_logs_chain AFTER INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION phantom_audit_queue_for_chain();

CREATE TABLE audit_chain
(
    tenant_id       uuid        NOT NULL,
    seq             bigint      NOT NULL,
    audit_timestamp timestamptz NOT NULL,
    audit_id        uuid        NOT NULL,
    retention_until timestamptz NOT NULL,
    record_hash     bytea       NOT NULL,
    chain_hash      bytea       NOT NULL,
    sealed_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_audit_chain PRIMARY KEY (tenant_id, seq),
    CONSTRAINT uq_audit_chain_row UNIQUE (tenant_id, audit_timestamp, audit_id)
);

-- Where each tenant's chain ends; the row lock serializes sealers of one tenant even if two activations overlap.
CREATE TABLE audit_chain_heads
(
    tenant_id  uuid        NOT NULL,
    seq        bigint      NOT NULL,
    chain_hash bytea       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_audit_chain_heads PRIMARY KEY (tenant_id)
);

CREATE TABLE audit_digests
(
    id                   uuid        NOT NULL DEFAULT gen_random_uuid(),
    tenant_id            uuid        NOT NULL,
    period_start         timestamptz NOT NULL,
    period_end           timestamptz NOT NULL,
    first_seq            bigint      NOT NULL,
    last_seq             bigint      NOT NULL,
    document             text        NOT NULL, -- the signed bytes, UTF-8 JSON
    signature            bytea       NOT NULL, -- ECDSA P-256 over SHA-256, DER (what openssl dgst -verify reads)
    key_id               varchar(100) NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_audit_digests PRIMARY KEY (tenant_id, id),
    CONSTRAINT uq_audit_digests_last UNIQUE (tenant_id, last_seq)
);

CREATE INDEX idx_audit_digests_tenant_time ON audit_digests (tenant_id, period_end DESC);

-- What retention removed, for the record (rows per tenant and partitions).
CREATE TABLE audit_retention_log
(
    id           bigserial   NOT NULL,
    removed_at   timestamptz NOT NULL DEFAULT now(),
    kind         varchar(20) NOT NULL, -- 'partition' or 'rows'
    name         text        NOT NULL, -- partition name, or the tenant id for rows
    row_count    bigint      NOT NULL,
    newest_row   timestamptz,
    latest_expiry timestamptz,
    CONSTRAINT pk_audit_retention_log PRIMARY KEY (id)
);

DO $$
DECLARE
    scoped text;
BEGIN
    FOREACH scoped IN ARRAY ARRAY['audit_chain_pending', 'audit_chain', 'audit_chain_heads', 'audit_digests']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', scoped);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', scoped);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = phantom_current_tenant()) WITH CHECK (tenant_id = phantom_current_tenant())', scoped);
    END LOOP;
END $$;

-- The chain and the digests are append-only for the application; the queue and the heads are its working state.
GRANT SELECT, INSERT ON audit_chain, audit_digests TO phantom_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON audit_chain_pending, audit_chain_heads TO phantom_app;
GRANT USAGE ON SEQUENCE audit_chain_pending_pending_id_seq TO phantom_app;
GRANT SELECT ON audit_retention_log TO phantom_app;

-- Tenants with rows waiting to be sealed, for the sweep that pokes their sealers (across tenants).
CREATE FUNCTION phantom_audit_tenants_to_seal(p_limit integer)
RETURNS TABLE (tenant_id uuid, pending bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$ SELECT tenant_id, count(*) FROM audit_chain_pending GROUP BY tenant_id ORDER BY count(*) DESC LIMIT least(greatest(p_limit, 1), 10000) $$;

-- Tenants whose chain moved past their last digest, with the end of that digest.
CREATE FUNCTION phantom_audit_tenants_to_digest(p_limit integer)
RETURNS TABLE (tenant_id uuid, last_digest_end timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$
    SELECT h.tenant_id, (SELECT max(d.period_end) FROM audit_digests d WHERE d.tenant_id = h.tenant_id)
      FROM audit_chain_heads h
     WHERE h.seq > coalesce((SELECT max(d.last_seq) FROM audit_digests d WHERE d.tenant_id = h.tenant_id), 0)
     LIMIT least(greatest(p_limit, 1), 10000)
$$;

CREATE POLICY security_seal_sweep ON audit_chain_pending FOR SELECT TO phantom_security USING (true);
CREATE POLICY security_digest_sweep ON audit_chain_heads FOR SELECT TO phantom_security USING (true);
CREATE POLICY security_digest_sweep ON audit_digests FOR SELECT TO phantom_security USING (true);
GRANT SELECT ON audit_chain_pending, audit_chain_heads, audit_digests TO phantom_security;
GRANT USAGE, CREATE ON SCHEMA public TO phantom_security;
ALTER FUNCTION phantom_audit_tenants_to_seal(integer) OWNER TO phantom_security;
ALTER FUNCTION phantom_audit_tenants_to_digest(integer) OWNER TO phantom_security;
REVOKE CREATE ON SCHEMA public FROM phantom_security;
REVOKE ALL ON FUNCTION phantom_audit_tenants_to_seal(integer), phantom_audit_tenants_to_digest(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION phantom_audit_tenants_to_seal(integer), phantom_audit_tenants_to_digest(integer) TO phantom_app;

-- ---- Retention ----------------------------------------------------------------------------------------

-- Deletes the rows whose retention_until has passed at p_now, up to p_limit per partition, and records how many per
-- tenant. Security definer as the owner (audit_logs is append-only for the application); it reads each partition
-- directly because the owner, too, sees only the current tenant's rows through the parent (FORCE ROW LEVEL SECURITY).
CREATE FUNCTION phantom_expire_audit_rows(p_now timestamptz, p_limit integer)
RETURNS bigint LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
DECLARE
    partition regclass;
    removed bigint := 0;
    counted bigint;
BEGIN
    FOR partition IN SELECT i.inhrelid::regclass FROM pg_inherits i WHERE i.inhparent = 'audit_logs'::regclass
    LOOP
        EXECUTE format($sql$
            WITH doomed AS (
                SELECT "timestamp", id FROM %1$s WHERE retention_until <= $1 ORDER BY retention_until LIMIT $2),
            gone AS (
                DELETE FROM %1$s a USING doomed d WHERE a."timestamp" = d."timestamp" AND a.id = d.id
                RETURNING a.tenant_id, a."timestamp", a.retention_until),
            logged AS (
                INSERT INTO audit_retention_log (removed_at, kind, name, row_count, newest_row, latest_expiry)
                SELECT $1, 'rows', tenant_id::text, count(*), max("timestamp"), max(retention_until) FROM gone GROUP BY tenant_id
                RETURNING row_count)
            SELECT coalesce(sum(row_count), 0) FROM logged $sql$, partition)
           INTO counted USING p_now, least(greatest(p_limit, 1), 100000);
        removed := removed + counted;
    END LOOP;
    RETURN removed;
END
$$;

-- Drops each non-DEFAULT partition of audit_logs that ends before p_now and whose rows have all expired at p_now (an
-- empty one included), recording it. Returns the names dropped.
CREATE FUNCTION phantom_drop_expired_audit_partitions(p_now timestamptz)
RETURNS SETOF text LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
DECLARE
    partition record;
    live boolean;
    stats record;
BEGIN
    FOR partition IN
        SELECT c.oid::regclass AS rel, c.relname AS name,
               substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)')::timestamptz AS upper_bound
          FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'audit_logs'::regclass AND pg_get_expr(c.relpartbound, c.oid) <> 'DEFAULT'
    LOOP
        CONTINUE WHEN partition.upper_bound > p_now;
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE retention_until IS NULL OR retention_until > $1)', partition.rel)
           INTO live USING p_now;
        CONTINUE WHEN live;
        EXECUTE format('SELECT count(*) AS n, max("timestamp") AS newest, max(retention_until) AS expiry FROM %s', partition.rel) INTO stats;
        EXECUTE format('ALTER TABLE audit_logs DETACH PARTITION %s', partition.rel);
        EXECUTE format('DROP TABLE %s', partition.rel);
        INSERT INTO audit_retention_log (removed_at, kind, name, row_count, newest_row, latest_expiry)
        VALUES (p_now, 'partition', partition.name, stats.n, stats.newest, stats.expiry);
        RETURN NEXT partition.name;
    END LOOP;
END
$$;

REVOKE ALL ON FUNCTION phantom_expire_audit_rows(timestamptz, integer), phantom_drop_expired_audit_partitions(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION phantom_expire_audit_rows(timestamptz, integer), phantom_drop_expired_audit_partitions(timestamptz) TO phantom_app;

-- ---- Full-text search -------------------------------------------------------------------------------

-- Words of the row that a person searches for: what happened, to what, by whom, and the string values of its details.
-- Addresses and user agents are left out on purpose.
CREATE FUNCTION phantom_audit_words(p_event_type audit_event_type_enum, p_resource_type varchar, p_resource_id varchar,
    p_action varchar, p_result audit_result_enum, p_user_id varchar, p_details jsonb)
RETURNS tsvector LANGUAGE sql IMMUTABLE AS
$$
    SELECT setweight(to_tsvector('simple', coalesce(p_action, '') || ' ' || coalesce(p_resource_type, '') || ' '
                                          || coalesce(p_resource_id, '') || ' ' || p_event_type::text || ' ' || p_result::text), 'A')
        || setweight(to_tsvector('simple', coalesce(p_user_id, '')), 'B')
        || setweight(coalesce(jsonb_to_tsvector('simple', p_details, '["string"]'), ''::tsvector), 'C')
$$;

ALTER TABLE audit_logs ADD COLUMN search_vector tsvector
    GENERATED ALWAYS AS (phantom_audit_words(event_type, resource_type, resource_id, action, result, user_id, details)) STORED;

CREATE INDEX idx_audit_logs_search ON audit_logs USING gin (search_vector);

-- Partition creation (migration 0009) moves rows out of the DEFAULT partition into a table made LIKE the parent: with a
-- generated column, that table must generate it too, and the moved rows are inserted without it.
CREATE OR REPLACE FUNCTION phantom_ensure_range_partition(parent regclass, partition_name text, from_ts timestamptz, to_ts timestamptz)
RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS
$$
DECLARE
    parent_schema text;
    default_partition regclass;
    key_column text;
    stored_columns text;
    has_rows boolean := false;
BEGIN
    SELECT n.nspname INTO parent_schema
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = parent;

    IF EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = parent_schema AND c.relname = partition_name) THEN
        RETURN false;
    END IF;

    SELECT a.attname INTO STRICT key_column
      FROM pg_partitioned_table p
      JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
     WHERE p.partrelid = parent;

    SELECT c.oid::regclass INTO default_partition
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = parent AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';

    IF default_partition IS NOT NULL THEN
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I >= $1 AND %I < $2)', default_partition, key_column, key_column)
           INTO has_rows USING from_ts, to_ts;
    END IF;

    IF NOT has_rows THEN
        EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                       parent_schema, partition_name, parent, from_ts, to_ts);
        RETURN true;
    END IF;

    SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO stored_columns
      FROM pg_attribute a
     WHERE a.attrelid = parent AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';

    EXECUTE format('CREATE TABLE %I.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED)',
                   parent_schema, partition_name, parent);
    EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= $1 AND %I < $2 RETURNING *) INSERT INTO %I.%I (%s) SELECT %s FROM moved',
                   default_partition, key_column, key_column, parent_schema, partition_name, stored_columns, stored_columns)
       USING from_ts, to_ts;
    EXECUTE format('ALTER TABLE %s ATTACH PARTITION %I.%I FOR VALUES FROM (%L) TO (%L)',
                   parent, parent_schema, partition_name, from_ts, to_ts);
    RETURN true;
END
$$;

-- What the application's inserts run, and nobody else.
REVOKE ALL ON FUNCTION phantom_default_audit_retention_days(), phantom_audit_retention(uuid), phantom_audit_risk(audit_logs),
    phantom_audit_policy(), phantom_audit_queue_for_chain(),
    phantom_audit_words(audit_event_type_enum, varchar, varchar, varchar, audit_result_enum, varchar, jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION phantom_default_audit_retention_days(), phantom_audit_retention(uuid), phantom_audit_risk(audit_logs),
    phantom_audit_policy(), phantom_audit_queue_for_chain(),
    phantom_audit_words(audit_event_type_enum, varchar, varchar, varchar, audit_result_enum, varchar, jsonb) TO phantom_app;
