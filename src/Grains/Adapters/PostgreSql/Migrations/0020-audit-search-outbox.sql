-- Audit search backends other than PostgreSQL (Elasticsearch) index the sealed chain: the audit log is their outbox.
-- This table is how far each backend has indexed each tenant (the chain's seq), so indexing resumes where it stopped
-- after a failure, and the lag is the chain's head minus indexed_seq. purged_at: when rows past their retention were
-- last removed from the backend.

CREATE TABLE audit_search_offsets
(
    tenant_id   uuid        NOT NULL,
    backend     varchar(50) NOT NULL,
    indexed_seq bigint      NOT NULL DEFAULT 0,
    indexed_at  timestamptz,
    purged_at   timestamptz,
    CONSTRAINT pk_audit_search_offsets PRIMARY KEY (tenant_id, backend)
);

ALTER TABLE audit_search_offsets ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_search_offsets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_search_offsets
    USING (tenant_id = phantom_current_tenant()) WITH CHECK (tenant_id = phantom_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON audit_search_offsets TO phantom_app;
