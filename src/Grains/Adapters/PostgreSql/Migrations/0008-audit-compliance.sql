-- Audit & compliance service: audit_logs (daily range partitions), data lineage, compliance reports.
--
-- Differences from the design, and why:
-- * PRIMARY KEY ("timestamp", id): keys on a range-partitioned table contain the partition column.
-- * event_id UNIQUE cannot be enforced across daily partitions (design correction D2). Idempotent ingestion
--   instead: audit_event_ids is an unpartitioned key table, and record_audit_event() claims the
--   event id there and writes the audit row in the same transaction; a repeated event id claims
--   nothing and writes nothing. Its key is (tenant_id, event_id), not event_id alone, so one tenant
--   can never make another tenant's event disappear by reusing its id. The partition maintenance
--   job forgets event ids together with the audit partitions that held them.
-- * A DEFAULT partition keeps any audit row outside the created days: an audit row is never lost.

CREATE TABLE audit_logs
(
    id              uuid                  NOT NULL DEFAULT gen_random_uuid(),
    tenant_id       uuid                  NOT NULL,
    event_id        varchar(255)          NOT NULL,
    "timestamp"     timestamptz           NOT NULL DEFAULT now(),
    user_id         varchar(255)          NOT NULL,
    session_id      varchar(255),
    event_type      audit_event_type_enum NOT NULL,
    resource_type   varchar(100)          NOT NULL,
    resource_id     varchar(255)          NOT NULL,
    action          varchar(100)          NOT NULL,
    result          audit_result_enum     NOT NULL,
    ip_address      inet,
    user_agent      text,
    risk_score      decimal(3, 2),
    details         jsonb,
    compliance_tags text[],
    retention_until timestamptz,
    CONSTRAINT pk_audit_logs PRIMARY KEY ("timestamp", id)
) PARTITION BY RANGE ("timestamp");

CREATE TABLE audit_logs_default PARTITION OF audit_logs DEFAULT;

CREATE INDEX idx_audit_logs_tenant_time ON audit_logs (tenant_id, "timestamp" DESC, id DESC);
CREATE INDEX idx_audit_logs_tenant_resource ON audit_logs (tenant_id, resource_type, resource_id, "timestamp" DESC);
CREATE INDEX idx_audit_logs_event ON audit_logs (tenant_id, event_id);

CREATE TABLE audit_event_ids
(
    tenant_id   uuid         NOT NULL,
    event_id    varchar(255) NOT NULL,
    "timestamp" timestamptz  NOT NULL,
    CONSTRAINT pk_audit_event_ids PRIMARY KEY (tenant_id, event_id)
);

CREATE INDEX idx_audit_event_ids_time ON audit_event_ids ("timestamp");

-- Writes an audit row once per (tenant, event id). Returns false for a duplicate.
CREATE FUNCTION record_audit_event(
    p_tenant_id uuid, p_event_id varchar, p_timestamp timestamptz, p_user_id varchar, p_session_id varchar,
    p_event_type audit_event_type_enum, p_resource_type varchar, p_resource_id varchar, p_action varchar,
    p_result audit_result_enum, p_ip_address inet, p_user_agent text, p_risk_score decimal,
    p_details jsonb, p_compliance_tags text[], p_retention_until timestamptz)
RETURNS boolean LANGUAGE plpgsql AS
$$
BEGIN
    INSERT INTO audit_event_ids (tenant_id, event_id, "timestamp")
    VALUES (p_tenant_id, p_event_id, p_timestamp)
    ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;
    END IF;

    INSERT INTO audit_logs (tenant_id, event_id, "timestamp", user_id, session_id, event_type, resource_type,
                            resource_id, action, result, ip_address, user_agent, risk_score, details,
                            compliance_tags, retention_until)
    VALUES (p_tenant_id, p_event_id, p_timestamp, p_user_id, p_session_id, p_event_type, p_resource_type,
            p_resource_id, p_action, p_result, p_ip_address, p_user_agent, p_risk_score, p_details,
            p_compliance_tags, p_retention_until);
    RETURN true;
END
$$;

CREATE TABLE data_lineage
(
    id                      uuid         NOT NULL DEFAULT gen_random_uuid(),
    tenant_id               uuid         NOT NULL REFERENCES tenants (id),
    resource_id             varchar(255) NOT NULL,
    resource_type           varchar(100) NOT NULL,
    parent_resource_id      varchar(255),
    transformation_type     varchar(100),
    transformation_metadata jsonb,
    created_at              timestamptz  NOT NULL DEFAULT now(),
    created_by              varchar(255) NOT NULL,
    CONSTRAINT pk_data_lineage PRIMARY KEY (id)
);

CREATE INDEX idx_data_lineage_resource ON data_lineage (tenant_id, resource_type, resource_id);
CREATE INDEX idx_data_lineage_parent ON data_lineage (tenant_id, parent_resource_id);
CREATE INDEX idx_data_lineage_tenant_time ON data_lineage (tenant_id, created_at DESC);

CREATE TABLE compliance_reports
(
    id                  uuid         NOT NULL DEFAULT gen_random_uuid(),
    tenant_id           uuid         NOT NULL REFERENCES tenants (id),
    framework           varchar(100) NOT NULL, -- GDPR, HIPAA, SOC2, etc.
    report_type         varchar(100) NOT NULL,
    period_start        timestamptz  NOT NULL,
    period_end          timestamptz  NOT NULL,
    status              varchar(50)  NOT NULL DEFAULT 'generated',
    findings            jsonb,
    remediation_actions jsonb,
    generated_at        timestamptz  NOT NULL DEFAULT now(),
    generated_by        varchar(255) NOT NULL,
    CONSTRAINT pk_compliance_reports PRIMARY KEY (id),
    CONSTRAINT ck_compliance_reports_period CHECK (period_end > period_start)
);

CREATE INDEX idx_compliance_reports_tenant ON compliance_reports (tenant_id, framework, generated_at DESC);
