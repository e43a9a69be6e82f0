-- Inference service: one row per prediction request, in monthly range partitions on created_at.
--
-- Differences from the design, and why:
-- * PRIMARY KEY (created_at, id): a key on a range-partitioned table must contain the partition
--   column (design correction D1).
-- * A DEFAULT partition, so an insert outside every monthly partition is kept, never refused; the
--   partition maintenance job creates the monthly partitions ahead of time (design correction D4) and moves
--   any rows of a new month out of DEFAULT when it creates that month.

CREATE TABLE inference_jobs
(
    id                 uuid                  NOT NULL DEFAULT gen_random_uuid(),
    tenant_id          uuid                  NOT NULL REFERENCES tenants (id),
    model_id           uuid                  NOT NULL,
    model_version      varchar(50)           NOT NULL,
    input_data         jsonb                 NOT NULL,
    prediction         jsonb,
    confidence_score   decimal(5, 4),
    feature_importance jsonb,
    inference_time_ms  integer,
    status             inference_status_enum NOT NULL DEFAULT 'pending',
    created_at         timestamptz           NOT NULL DEFAULT now(),
    completed_at       timestamptz,
    created_by         varchar(255),
    batch_id           uuid, -- For batch inference
    metadata           jsonb,
    CONSTRAINT pk_inference_jobs PRIMARY KEY (created_at, id)
) PARTITION BY RANGE (created_at);

CREATE TABLE inference_jobs_default PARTITION OF inference_jobs DEFAULT;

CREATE INDEX idx_inference_tenant_time ON inference_jobs (tenant_id, created_at DESC);
CREATE INDEX idx_inference_batch ON inference_jobs (tenant_id, batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX idx_inference_model_time ON inference_jobs (tenant_id, model_id, created_at DESC);
