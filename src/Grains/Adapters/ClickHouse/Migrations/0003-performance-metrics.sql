-- Performance analytics service: service metrics and resource utilisation, as in the design.
CREATE TABLE IF NOT EXISTS performance_metrics
(
    timestamp    DateTime64(3),
    tenant_id    String,
    service_name String,
    metric_name  String,
    metric_value Float64,
    dimensions   Map(String, String),
    labels       Map(String, String)
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (tenant_id, service_name, metric_name, timestamp)
TTL toDateTime(timestamp) + INTERVAL 6 MONTH;

CREATE TABLE IF NOT EXISTS resource_metrics
(
    timestamp       DateTime64(3),
    tenant_id       String,
    resource_type   String,
    resource_id     String,
    cpu_percent     Float32,
    memory_mb       UInt32,
    disk_io_mb      Float32,
    network_io_mb   Float32,
    gpu_utilization Float32,
    metadata        Map(String, String)
)
ENGINE = MergeTree()
PARTITION BY toYYYYMM(timestamp)
ORDER BY (tenant_id, resource_type, resource_id, timestamp)
TTL toDateTime(timestamp) + INTERVAL 3 MONTH;
