-- A silo without a GPU has no GPU utilization: NULL, never a made-up zero (the design's column was NOT NULL).
ALTER TABLE resource_metrics MODIFY COLUMN gpu_utilization Nullable(Float32);
