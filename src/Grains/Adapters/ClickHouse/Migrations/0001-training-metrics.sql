-- Training metrics time series and its hourly rollup.
-- The design's hourly view was a SummingMergeTree holding avg/min/max: once parts merge, SummingMergeTree
-- adds the averages (and the minima and maxima) of the merged rows, so every number becomes wrong
-- (design correction D10). The rollup is an AggregatingMergeTree of aggregate states instead, filled by a
-- materialized view and read with avgMerge/min/max/sum over GROUP BY.
CREATE TABLE IF NOT EXISTS training_metrics
(
    timestamp       DateTime64(3),
    tenant_id       String,
    training_job_id String,
    epoch           UInt32,
    batch           UInt32,
    metric_name     String,
    metric_value    Float64,
    metadata        Map(String, String)
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (tenant_id, training_job_id, timestamp)
TTL toDateTime(timestamp) + INTERVAL 2 YEAR;

CREATE TABLE IF NOT EXISTS training_metrics_hourly
(
    tenant_id       String,
    training_job_id String,
    hour            DateTime,
    metric_name     String,
    avg_value       AggregateFunction(avg, Float64),
    min_value       SimpleAggregateFunction(min, Float64),
    max_value       SimpleAggregateFunction(max, Float64),
    sample_count    SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree()
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant_id, training_job_id, metric_name, hour)
TTL hour + INTERVAL 2 YEAR;

CREATE MATERIALIZED VIEW IF NOT EXISTS training_metrics_hourly_mv TO training_metrics_hourly AS
SELECT
    tenant_id,
    training_job_id,
    toStartOfHour(timestamp) AS hour,
    metric_name,
    avgState(metric_value) AS avg_value,
    min(metric_value) AS min_value,
    max(metric_value) AS max_value,
    toUInt64(count()) AS sample_count
FROM training_metrics
GROUP BY tenant_id, training_job_id, hour, metric_name;
