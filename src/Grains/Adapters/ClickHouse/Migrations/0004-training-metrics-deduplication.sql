-- Retried metric inserts must not duplicate points. Inserts carry insert_deduplication_token (the batch id);
-- a plain MergeTree honours it only within its non-replicated deduplication window, which is off by default.
ALTER TABLE training_metrics MODIFY SETTING non_replicated_deduplication_window = 100000;
