-- Tags on a registered version (MLflow's model-version tags: set-tag, delete-tag), beside the model's own tags.
ALTER TABLE model_versions ADD COLUMN tags jsonb NOT NULL DEFAULT '{}';
