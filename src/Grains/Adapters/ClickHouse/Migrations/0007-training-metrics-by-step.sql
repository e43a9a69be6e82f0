-- A metric's history is read by step (downsampled to buckets of steps, zoomed to a step range), but training_metrics is
-- ordered by time, so every history query read all of the job's metrics to find one. This projection keeps the same
-- rows ordered by metric and step: a query for one metric's steps reads that metric's rows only, found by the primary
-- key, and its min/max step from the first and last granules. ClickHouse picks the projection by itself.
ALTER TABLE training_metrics ADD PROJECTION IF NOT EXISTS by_metric_step (SELECT * ORDER BY tenant_id, training_job_id, metric_name, batch);
-- Rows written before this migration get the projection in the background.
ALTER TABLE training_metrics MATERIALIZE PROJECTION by_metric_step;
