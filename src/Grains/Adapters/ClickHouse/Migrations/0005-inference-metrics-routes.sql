-- Serving analytics per version need to tell apart the primary answer, a traffic split's challenger and a shadow
-- (mirrored, never returned), and answers from the result cache; request_id groups the rows of one request.
-- Micro-batched scoring takes well under a millisecond, so latency is kept in microseconds as well.
-- Retried inserts carry insert_deduplication_token, honoured by a plain MergeTree only within its window.
ALTER TABLE inference_metrics
    ADD COLUMN IF NOT EXISTS route LowCardinality(String) DEFAULT 'primary',
    ADD COLUMN IF NOT EXISTS request_id String DEFAULT '',
    ADD COLUMN IF NOT EXISTS cached UInt8 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS inference_time_us UInt32 DEFAULT inference_time_ms * 1000;
ALTER TABLE inference_metrics MODIFY SETTING non_replicated_deduplication_window = 10000;
