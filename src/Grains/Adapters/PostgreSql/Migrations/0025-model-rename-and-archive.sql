-- Retiring a version and renaming a model (MLflow's Archived stage and registered-models/rename; docs/models.md).
--
-- * archived_at: when a version was retired. An archived version is never the active one (activating it brings it
--   back); it stays readable, downloadable and addressable by its label and by any alias left on it.
-- * A rename rewrites the model's name and the lineage nodes named after it in one transaction (the model's own id,
--   its versions and aliases); the rows that display the name next to the model's id follow. Nothing else needs a
--   column: object keys, metrics and serving routes name the model by its id.
ALTER TABLE model_versions ADD COLUMN archived_at timestamptz;
