-- Experiment tracking (the MLflow-compatible API, docs/mlflow.md): projects of training jobs, and runs as external
-- training jobs of a project.
--
-- * training_projects: an MLflow experiment. Its id is text because MLflow's are ('0' is each tenant's Default
--   project, made on first use; others are UUIDv7s in 32 hex digits: time-ordered, but no counter that would let a
--   tenant count another's projects).
--   deleted_at marks MLflow's lifecycle_stage 'deleted' (restorable), as on runs.
-- * training_jobs.project_id: set on runs only. Runs are reported by their client, never scheduled: the scheduler's
--   slot count and the watchdog's silence check leave them out (a script that crashed leaves its run RUNNING, as in MLflow).
-- * training_jobs.tags, inputs: MLflow's run tags and logged dataset inputs.
-- * training_run_artifacts: the files of a run. The object key is generated (tenants/{tenant}/runs/{job}/{upload});
--   the client's path is a row, never a key, as for model artifacts.
-- * model_versions.source, training_job_id: what a version was registered from (end of this file).
CREATE TABLE training_projects
(
    tenant_id         uuid          NOT NULL REFERENCES tenants (id),
    id                varchar(32)   NOT NULL CHECK (id = '0' OR id ~ '^[0-9a-f]{32}$'),
    name              varchar(500)  NOT NULL,
    artifact_location varchar(1000),
    tags              jsonb         NOT NULL DEFAULT '{}',
    created_at        timestamptz   NOT NULL DEFAULT now(),
    updated_at        timestamptz   NOT NULL DEFAULT now(),
    deleted_at        timestamptz,
    created_by        varchar(255)  NOT NULL,
    CONSTRAINT pk_training_projects PRIMARY KEY (tenant_id, id)
);

-- A name is unique within a tenant, deleted projects included (MLflow keeps the name of a deleted experiment taken).
CREATE UNIQUE INDEX idx_training_projects_name ON training_projects (tenant_id, name);

ALTER TABLE training_jobs
    ADD COLUMN project_id varchar(32),
    ADD COLUMN tags       jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN inputs     jsonb,
    ADD COLUMN deleted_at timestamptz;

CREATE INDEX idx_training_jobs_project ON training_jobs (tenant_id, project_id, started_at DESC) WHERE project_id IS NOT NULL;

CREATE TABLE training_run_artifacts
(
    tenant_id       uuid          NOT NULL REFERENCES tenants (id),
    training_job_id uuid          NOT NULL,
    path            varchar(1000) NOT NULL,
    object_key      varchar(200)  NOT NULL,
    size_bytes      bigint        NOT NULL CHECK (size_bytes >= 0),
    sha256          char(64)      NOT NULL,
    uploaded_at     timestamptz   NOT NULL DEFAULT now(),
    uploaded_by     varchar(255)  NOT NULL,
    CONSTRAINT pk_training_run_artifacts PRIMARY KEY (tenant_id, training_job_id, path),
    CONSTRAINT fk_training_run_artifacts_job FOREIGN KEY (tenant_id, training_job_id) REFERENCES training_jobs (tenant_id, id)
);

DO $$
DECLARE
    scoped text;
BEGIN
    FOREACH scoped IN ARRAY ARRAY['training_projects', 'training_run_artifacts']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', scoped);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', scoped);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = phantom_current_tenant()) WITH CHECK (tenant_id = phantom_current_tenant())', scoped);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO phantom_app', scoped);
    END LOOP;
END $$;

-- The watchdog recovers jobs whose runner went silent; a tracked run has no runner of ours to lose.
CREATE OR REPLACE FUNCTION phantom_stale_training_jobs(p_silent_since timestamptz, p_limit integer)
RETURNS TABLE (tenant_key varchar, job_id uuid, status text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS
$$
    SELECT t.tenant_key, j.id, j.status::text
      FROM training_jobs j JOIN tenants t ON t.id = j.tenant_id
     WHERE j.updated_at < p_silent_since
       AND j.project_id IS NULL
       AND (j.status = 'running' OR (j.status = 'scheduled' AND j.config ->> 'trainer' = 'builtin'))
     ORDER BY j.updated_at
     LIMIT least(greatest(p_limit, 1), 1000)
$$;

-- A registered version remembers what it was registered from: MLflow's source (such as a run's artifact URI) and the
-- training job (run) that produced it, which MLflow's clients read back as source and run_id.
ALTER TABLE model_versions
    ADD COLUMN source          varchar(1000),
    ADD COLUMN training_job_id uuid;
