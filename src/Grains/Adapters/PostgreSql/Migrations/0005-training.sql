-- Training service: jobs (hash partitions by tenant) and the experiments (trials) of a job.
--
-- Differences from the design, and why:
-- * PRIMARY KEY (tenant_id, id), since the table is partitioned by tenant_id (design correction D1).
-- * created_at added: the design's own index idx_active_training_jobs orders by it, and FIFO
--   scheduling needs it. The design gives no partition count; 16 keeps the table count sane.
-- * model_id has no foreign key, as in the design: a job may produce a model that does not exist yet.

CREATE TABLE training_jobs
(
    id                    uuid                 NOT NULL DEFAULT gen_random_uuid(),
    tenant_id             uuid                 NOT NULL REFERENCES tenants (id),
    model_id              uuid                 NOT NULL,
    job_name              varchar(255)         NOT NULL,
    status                training_status_enum NOT NULL DEFAULT 'pending',
    config                jsonb                NOT NULL,
    dataset_uri           text                 NOT NULL,
    hyperparameters       jsonb,
    resource_requirements jsonb,
    created_at            timestamptz          NOT NULL DEFAULT now(),
    scheduled_at          timestamptz,
    started_at            timestamptz,
    completed_at          timestamptz,
    error_message         text,
    metrics_summary       jsonb,
    created_by            varchar(255)         NOT NULL,
    priority              integer              NOT NULL DEFAULT 0,
    CONSTRAINT pk_training_jobs PRIMARY KEY (tenant_id, id)
) PARTITION BY HASH (tenant_id);

SELECT phantom_create_hash_partitions('training_jobs', 16);

-- The design's partial index for hot jobs (not CONCURRENTLY: partitioned parent, design correction D7).
CREATE INDEX idx_active_training_jobs ON training_jobs (tenant_id, created_at) WHERE status IN ('running', 'pending');
-- The scheduler's queue: priority first, then FIFO, over the jobs that wait.
CREATE INDEX idx_training_jobs_queue ON training_jobs (tenant_id, priority DESC, created_at) WHERE status IN ('pending', 'scheduled');
CREATE INDEX idx_training_jobs_model ON training_jobs (tenant_id, model_id);

CREATE TABLE training_experiments
(
    id              uuid                   NOT NULL DEFAULT gen_random_uuid(),
    tenant_id       uuid                   NOT NULL,
    training_job_id uuid                   NOT NULL,
    experiment_name varchar(255)           NOT NULL,
    parameters      jsonb                  NOT NULL,
    metrics         jsonb,
    artifacts       jsonb,
    started_at      timestamptz            NOT NULL,
    completed_at    timestamptz,
    status          experiment_status_enum NOT NULL,
    CONSTRAINT pk_training_experiments PRIMARY KEY (id),
    CONSTRAINT fk_training_experiments_job FOREIGN KEY (tenant_id, training_job_id) REFERENCES training_jobs (tenant_id, id)
);

CREATE INDEX idx_training_experiments_job ON training_experiments (tenant_id, training_job_id, started_at);
