-- Model registry: optimistic concurrency on models, metrics on versions, aliases.
--
-- * models.row_version is the ETag: every change increments it, and an update that names a stale version
--   changes nothing (412). Concurrent updates of one model are serialised by its grain; the version check
--   keeps a client that read an old state from overwriting a newer one.
-- * A version is registered before its artifact is uploaded, so model_versions.artifact_uri is NULL until
--   then (the design had NOT NULL).
-- * model_aliases maps names such as 'champion' to one version of a model; moving an alias is one UPDATE.

ALTER TABLE models ADD COLUMN row_version bigint NOT NULL DEFAULT 1;

ALTER TABLE model_versions
    ALTER COLUMN artifact_uri DROP NOT NULL,
    ADD COLUMN accuracy decimal(5, 4),
    ADD COLUMN precision_score decimal(5, 4),
    ADD COLUMN recall_score decimal(5, 4),
    ADD COLUMN f1_score decimal(5, 4),
    ADD COLUMN performance_metrics jsonb;

CREATE TABLE model_aliases
(
    tenant_id  uuid        NOT NULL,
    model_id   uuid        NOT NULL,
    alias      varchar(64) NOT NULL,
    version_id uuid        NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_model_aliases PRIMARY KEY (tenant_id, model_id, alias),
    CONSTRAINT fk_model_aliases_model FOREIGN KEY (tenant_id, model_id) REFERENCES models (tenant_id, id) ON DELETE CASCADE
);

ALTER TABLE model_aliases ENABLE ROW LEVEL SECURITY;
ALTER TABLE model_aliases FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON model_aliases USING (tenant_id = phantom_current_tenant()) WITH CHECK (tenant_id = phantom_current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON model_aliases TO phantom_app;

-- Deleting a model removes its versions, lineage edges and aliases with it.
ALTER TABLE model_versions DROP CONSTRAINT fk_model_versions_model,
    ADD CONSTRAINT fk_model_versions_model FOREIGN KEY (tenant_id, model_id) REFERENCES models (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE model_lineage DROP CONSTRAINT fk_model_lineage_model,
    ADD CONSTRAINT fk_model_lineage_model FOREIGN KEY (tenant_id, model_id) REFERENCES models (tenant_id, id) ON DELETE CASCADE;
ALTER TABLE model_lineage DROP CONSTRAINT fk_model_lineage_parent,
    -- A deleted parent leaves the child's edge in place with no parent (PostgreSQL 15 column-list SET NULL).
    ADD CONSTRAINT fk_model_lineage_parent FOREIGN KEY (tenant_id, parent_model_id) REFERENCES models (tenant_id, id) ON DELETE SET NULL (parent_model_id);
ALTER TABLE model_artifacts DROP CONSTRAINT fk_model_artifacts_model,
    ADD CONSTRAINT fk_model_artifacts_model FOREIGN KEY (tenant_id, model_id) REFERENCES models (tenant_id, id) ON DELETE CASCADE;
