-- Inference analytics, one row per prediction, as in the design.
CREATE TABLE IF NOT EXISTS inference_metrics
(
    timestamp            DateTime64(3),
    tenant_id            String,
    model_id             String,
    model_version        String,
    inference_time_ms    UInt32,
    confidence_score     Float32,
    input_features_count UInt16,
    prediction_type      String,
    user_id              String,
    session_id           String,
    metadata             Map(String, String)
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (tenant_id, model_id, timestamp)
TTL toDateTime(timestamp) + INTERVAL 1 YEAR;
