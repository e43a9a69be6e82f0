-- ML model service: models (64 hash partitions by tenant), versions, lineage and artifact metadata.
--
-- Differences from the design, and why:
-- * models is partitioned by tenant_id, so its primary key must contain tenant_id (design correction D1):
--   PRIMARY KEY (tenant_id, id). Every child table carries tenant_id and references (tenant_id, id).
-- * models.version and models.artifact_uri are NULL until a version exists: a model is registered
--   before its first version, and a NOT NULL placeholder would be a lie.
-- * Model names are unique per tenant (registries address models by name).

-- Creates parent_p00 .. parent_pNN, the hash partitions of a table partitioned by tenant.
CREATE FUNCTION phantom_create_hash_partitions(parent text, modulus integer)
RETURNS void LANGUAGE plpgsql AS
$$
BEGIN
    FOR remainder IN 0..modulus - 1 LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES WITH (MODULUS %s, REMAINDER %s)',
                       parent || '_p' || lpad(remainder::text, 2, '0'), parent, modulus, remainder);
    END LOOP;
END
$$;

CREATE TABLE models
(
    id                  uuid              NOT NULL DEFAULT gen_random_uuid(),
    tenant_id           uuid              NOT NULL REFERENCES tenants (id),
    name                varchar(255)      NOT NULL,
    model_type          varchar(100)      NOT NULL,
    algorithm           varchar(100)      NOT NULL,
    version             varchar(50),
    artifact_uri        text,             -- object store path of the active version
    accuracy            decimal(5, 4),
    precision_score     decimal(5, 4),
    recall_score        decimal(5, 4),
    f1_score            decimal(5, 4),
    training_samples    bigint,
    feature_count       integer,
    status              model_status_enum NOT NULL DEFAULT 'created',
    created_at          timestamptz       NOT NULL DEFAULT now(),
    updated_at          timestamptz       NOT NULL DEFAULT now(),
    created_by          varchar(255)      NOT NULL,
    tags                jsonb,
    metadata            jsonb,
    performance_metrics jsonb,
    CONSTRAINT pk_models PRIMARY KEY (tenant_id, id),
    CONSTRAINT uq_models_tenant_name UNIQUE (tenant_id, name)
) PARTITION BY HASH (tenant_id);

SELECT phantom_create_hash_partitions('models', 64);

-- The design's indexes. CREATE INDEX CONCURRENTLY is not supported on a partitioned parent
-- (design correction D7): created here on the parent, which builds each partition's index; on a large live
-- table the way is CREATE INDEX ON ONLY parent, then CONCURRENTLY per partition, then ATTACH.
CREATE INDEX idx_models_tenant_status ON models (tenant_id, status) WHERE status IN ('active', 'training');
CREATE INDEX idx_models_metadata_covering ON models (tenant_id, model_type) INCLUDE (name, version, accuracy, created_at);
CREATE INDEX idx_models_tenant_created ON models (tenant_id, created_at DESC);

CREATE TABLE model_versions
(
    id                uuid         NOT NULL DEFAULT gen_random_uuid(),
    tenant_id         uuid         NOT NULL,
    model_id          uuid         NOT NULL,
    version           varchar(50)  NOT NULL,
    parent_version    varchar(50),
    artifact_uri      text         NOT NULL,
    changelog         text,
    performance_delta jsonb,
    created_at        timestamptz  NOT NULL DEFAULT now(),
    created_by        varchar(255) NOT NULL,
    is_active         boolean      NOT NULL DEFAULT false,
    CONSTRAINT pk_model_versions PRIMARY KEY (id),
    CONSTRAINT fk_model_versions_model FOREIGN KEY (tenant_id, model_id) REFERENCES models (tenant_id, id),
    CONSTRAINT uq_model_versions_model_version UNIQUE (tenant_id, model_id, version)
);

-- Exactly one active version per model, enforced by the database and not only by the grain.
CREATE UNIQUE INDEX ux_model_versions_one_active ON model_versions (tenant_id, model_id) WHERE is_active;

CREATE TABLE model_lineage
(
    id                      uuid              NOT NULL DEFAULT gen_random_uuid(),
    tenant_id               uuid              NOT NULL,
    model_id                uuid              NOT NULL,
    parent_model_id         uuid,
    lineage_type            lineage_type_enum NOT NULL, -- 'derived', 'retrained', 'ensemble'
    transformation_metadata jsonb,
    created_at              timestamptz       NOT NULL DEFAULT now(),
    CONSTRAINT pk_model_lineage PRIMARY KEY (id),
    CONSTRAINT fk_model_lineage_model FOREIGN KEY (tenant_id, model_id) REFERENCES models (tenant_id, id),
    -- Lineage never crosses tenants: the parent is looked up under the child's tenant.
    CONSTRAINT fk_model_lineage_parent FOREIGN KEY (tenant_id, parent_model_id) REFERENCES models (tenant_id, id)
);

CREATE INDEX idx_model_lineage_model ON model_lineage (tenant_id, model_id);
CREATE INDEX idx_model_lineage_parent ON model_lineage (tenant_id, parent_model_id);

-- Vertical partition for large-object metadata. The design keyed it by model_id alone (one artifact
-- per model); artifacts belong to model versions, so the row is keyed by the version it stores.
CREATE TABLE model_artifacts
(
    model_version_id    uuid         NOT NULL REFERENCES model_versions (id) ON DELETE CASCADE,
    tenant_id           uuid         NOT NULL,
    model_id            uuid         NOT NULL,
    artifact_size_bytes bigint,
    artifact_checksum   varchar(64), -- SHA-256, hex
    storage_provider    varchar(50),
    storage_path        text,
    compression_type    varchar(20),
    encryption_key_id   varchar(255),
    created_at          timestamptz  NOT NULL DEFAULT now(),
    CONSTRAINT pk_model_artifacts PRIMARY KEY (model_version_id),
    CONSTRAINT fk_model_artifacts_model FOREIGN KEY (tenant_id, model_id) REFERENCES models (tenant_id, id)
);

CREATE INDEX idx_model_artifacts_model ON model_artifacts (tenant_id, model_id);
