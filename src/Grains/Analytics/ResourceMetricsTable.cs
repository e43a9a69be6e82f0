using ClickHouse.Driver;
using PhantomMl.Grains.Adapters.ClickHouse;

namespace PhantomMl.Grains.Analytics;

/// <summary>resource_metrics in ClickHouse (the design's table; 3 months TTL): one row per silo per sample.</summary>
public sealed class ResourceMetricsTable(ClickHouseConnections connections)
{
    private static readonly string[] Columns =
        ["timestamp", "tenant_id", "resource_type", "resource_id", "cpu_percent", "memory_mb", "disk_io_mb", "network_io_mb", "gpu_utilization", "metadata"];

    private static readonly Dictionary<string, string> ColumnTypes = new()
    {
        ["timestamp"] = "DateTime64(3)",
        ["tenant_id"] = "String",
        ["resource_type"] = "String",
        ["resource_id"] = "String",
        ["cpu_percent"] = "Float32",
        ["memory_mb"] = "UInt32",
        ["disk_io_mb"] = "Float32",
        ["network_io_mb"] = "Float32",
        ["gpu_utilization"] = "Nullable(Float32)",
        ["metadata"] = "Map(String, String)",
    };

    /// <summary>Inserts one silo's sample; the silo's resources belong to the platform (an empty tenant id).</summary>
    public Task<long> InsertSiloAsync(string silo, ResourceSample sample, CancellationToken cancellationToken = default) =>
        connections.Client.InsertBinaryAsync("resource_metrics", Columns,
            [
                new object?[]
                {
                    sample.At.UtcDateTime, "", "silo", silo, (float)sample.CpuPercent, sample.MemoryMb, (float)sample.DiskIoMb, (float)sample.NetworkIoMb,
                    sample.GpuUtilization is { } gpu ? (float)gpu : null, sample.Details,
                },
            ],
            new InsertOptions { ColumnTypes = ColumnTypes, MaxDegreeOfParallelism = 1 }, cancellationToken);
}
