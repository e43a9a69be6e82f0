-- Serving: traffic rules on aliases, and batch inference jobs.
--
-- * An alias can send a percentage of its requests to a challenger version and mirror every request to a shadow
--   version. The rules live on the alias row, so moving an alias and changing its split are each one UPDATE.
--   A version that is deleted stops being challenger or shadow (ON DELETE SET NULL).
-- * inference_batches: one row per batch job (CSV in, CSV out through the artifact store). Each scored row of a
--   batch is an inference_jobs row carrying the batch id, as the design has it; this table holds what the design
--   leaves out (input, output, progress, failures, cancellation).
-- * inference_jobs.metadata keeps the request id, the route (primary, challenger, shadow), the alias and whether the
--   answer came from the result cache.

ALTER TABLE model_aliases
    ADD COLUMN challenger_version_id uuid REFERENCES model_versions (id) ON DELETE SET NULL,
    ADD COLUMN challenger_percent    smallint NOT NULL DEFAULT 0 CHECK (challenger_percent BETWEEN 0 AND 100),
    ADD COLUMN shadow_version_id     uuid REFERENCES model_versions (id) ON DELETE SET NULL;

CREATE TABLE inference_batches
(
    id             uuid                  NOT NULL,
    tenant_id      uuid                  NOT NULL REFERENCES tenants (id),
    model_id       uuid                  NOT NULL,
    model_name     varchar(255)          NOT NULL,
    model_version  varchar(50)           NOT NULL,
    input_uri      text                  NOT NULL,
    input_path     text                  NOT NULL,
    status         inference_status_enum NOT NULL DEFAULT 'pending',
    total_rows     bigint,
    processed_rows bigint                NOT NULL DEFAULT 0,
    failed_rows    bigint                NOT NULL DEFAULT 0,
    output_path    text,
    errors_path    text,
    error_message  text,
    attempt        integer               NOT NULL DEFAULT 1,
    created_at     timestamptz           NOT NULL DEFAULT now(),
    started_at     timestamptz,
    completed_at   timestamptz,
    updated_at     timestamptz           NOT NULL DEFAULT now(),
    created_by     varchar(255)          NOT NULL,
    CONSTRAINT pk_inference_batches PRIMARY KEY (tenant_id, id)
);

CREATE INDEX idx_inference_batches_tenant_time ON inference_batches (tenant_id, created_at DESC);

ALTER TABLE inference_batches ENABLE ROW LEVEL SECURITY;
ALTER TABLE inference_batches FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON inference_batches USING (tenant_id = phantom_current_tenant()) WITH CHECK (tenant_id = phantom_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON inference_batches TO phantom_app;
