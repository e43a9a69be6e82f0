using System.Globalization;

namespace PhantomMl.Grains.Analytics;

/// <summary>One sample of a silo process's resources over the interval since the previous sample.</summary>
public sealed record ResourceSample(
    DateTimeOffset At,
    double CpuPercent,
    uint MemoryMb,
    double DiskIoMb,
    double NetworkIoMb,
    double? GpuUtilization,
    IReadOnlyDictionary<string, string> Details);

/// <summary>
/// Samples this process: CPU as a share of the whole machine (100 = every core busy), working set, bytes read and
/// written by the process (<c>/proc/self/io</c>), bytes through the network interfaces of its network namespace
/// (<c>/proc/self/net/dev</c>), the GC and the thread pool. GPU utilization is null: the platform runs no GPU work and
/// no GPU is probed, so nothing is made up. A counter the system does not offer is left out, never guessed.
/// </summary>
public sealed class SiloResourceSampler(TimeProvider time)
{
    private TimeSpan _cpu = Environment.CpuUsage.TotalTime;
    private long _at = time.GetTimestamp();
    private (long Read, long Written)? _io = ReadIo();
    private long? _network = ReadNetwork();

    /// <summary>The resources used since the previous call (or since construction).</summary>
    public ResourceSample Sample()
    {
        var now = time.GetTimestamp();
        var elapsed = time.GetElapsedTime(_at, now);
        var cpu = Environment.CpuUsage.TotalTime;
        var cpuPercent = elapsed > TimeSpan.Zero ? (cpu - _cpu) / elapsed / Environment.ProcessorCount * 100 : 0;
        (_cpu, _at) = (cpu, now);

        var io = ReadIo();
        var diskMb = io is { } current && _io is { } previous ? Megabytes(current.Read - previous.Read + (current.Written - previous.Written)) : 0;
        _io = io;
        var network = ReadNetwork();
        var networkMb = network is { } bytes && _network is { } before ? Megabytes(bytes - before) : 0;
        _network = network;

        var gc = GC.GetGCMemoryInfo();
        ThreadPool.GetAvailableThreads(out var workers, out _);
        ThreadPool.GetMaxThreads(out var maxWorkers, out _);
        var details = new Dictionary<string, string>
        {
            ["cores"] = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture),
            ["gc_heap_mb"] = Megabytes(gc.HeapSizeBytes).ToString("F1", CultureInfo.InvariantCulture),
            ["gc_collections_gen2"] = GC.CollectionCount(2).ToString(CultureInfo.InvariantCulture),
            ["gc_pause_percent"] = gc.PauseTimePercentage.ToString("F2", CultureInfo.InvariantCulture),
            ["threadpool_threads"] = ThreadPool.ThreadCount.ToString(CultureInfo.InvariantCulture),
            ["threadpool_busy"] = (maxWorkers - workers).ToString(CultureInfo.InvariantCulture),
            ["threadpool_queue"] = ThreadPool.PendingWorkItemCount.ToString(CultureInfo.InvariantCulture),
            ["disk_io_measured"] = io is null ? "false" : "true",
            ["network_io_measured"] = network is null ? "false" : "true",
        };
        return new ResourceSample(time.GetUtcNow(), Math.Round(Math.Max(0, cpuPercent), 2), (uint)(Environment.WorkingSet / (1024 * 1024)),
            Math.Round(diskMb, 3), Math.Round(networkMb, 3), null, details);
    }

    private static double Megabytes(long bytes) => bytes / (1024.0 * 1024.0);

    // rchar/wchar count every read and write; read_bytes/write_bytes are what reached the storage layer.
    private static (long Read, long Written)? ReadIo()
    {
        try
        {
            var fields = File.ReadAllLines("/proc/self/io").Select(line => line.Split(':', 2))
                .Where(parts => parts.Length == 2).ToDictionary(parts => parts[0].Trim(), parts => long.Parse(parts[1].Trim(), CultureInfo.InvariantCulture));
            return fields.TryGetValue("read_bytes", out var read) && fields.TryGetValue("write_bytes", out var written) ? (read, written) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    // Received plus transmitted bytes of every interface but loopback.
    private static long? ReadNetwork()
    {
        try
        {
            long total = 0;
            foreach (var line in File.ReadAllLines("/proc/self/net/dev").Skip(2))
            {
                var parts = line.Split(':', 2);
                if (parts.Length != 2 || parts[0].Trim() == "lo")
                {
                    continue;
                }

                var numbers = parts[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                total += long.Parse(numbers[0], CultureInfo.InvariantCulture) + long.Parse(numbers[8], CultureInfo.InvariantCulture);
            }

            return total;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
