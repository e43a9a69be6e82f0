-- Data lineage written by the platform (docs/audit.md#lineage): each row is one edge "resource came from parent by
-- transformation". The design's table names the parent by id only; ids of different kinds (a job's UUID, a model
-- version "churn/versions/3", a dataset URI) need the parent's kind too, or a walk could step from a model to a job
-- that happens to share its text.
--
-- * parent_resource_type: the kind of the parent (NULL for a root without parent, as before).
-- * One row per edge: the platform writes edges inside the transaction of the change they describe, and a retried
--   change must not add the same edge twice.
-- * Walks go both ways: upstream by (resource_type, resource_id) (idx_data_lineage_resource), downstream by the parent.

ALTER TABLE data_lineage ADD COLUMN parent_resource_type varchar(100);

ALTER TABLE data_lineage ADD CONSTRAINT ck_data_lineage_parent
    CHECK ((parent_resource_id IS NULL) = (parent_resource_type IS NULL));

CREATE UNIQUE INDEX uq_data_lineage_edge ON data_lineage
    (tenant_id, resource_type, resource_id, parent_resource_type, parent_resource_id, transformation_type) NULLS NOT DISTINCT;

DROP INDEX idx_data_lineage_parent;
CREATE INDEX idx_data_lineage_parent ON data_lineage (tenant_id, parent_resource_type, parent_resource_id);
