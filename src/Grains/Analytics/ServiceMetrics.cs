using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Options;

namespace PhantomMl.Grains.Analytics;

/// <summary>How a measured call ended.</summary>
public enum CallOutcome
{
    /// <summary>Answered.</summary>
    Success,

    /// <summary>Refused for the caller's reason (a 4xx).</summary>
    ClientError,

    /// <summary>Failed for the platform's reason (a 5xx or an unexpected exception).</summary>
    ServerError,
}

/// <summary>
/// Whose work a measured call was: a tenant's id when the platform authenticated it, a tenant key from the URL that the
/// collector resolves off the request path, or neither (the platform's own work, or a caller never authenticated).
/// </summary>
public readonly record struct TenantAttribution(Guid? TenantId, string? TenantKey)
{
    /// <summary>Nobody's in particular.</summary>
    public static readonly TenantAttribution None = new(null, null);
}

/// <summary>
/// This silo's service metrics since the last collection: per service (<c>http</c>, <c>grain</c>), operation and tenant,
/// the number of calls, client and server errors, the summed latency and a latency histogram. Recording is a dictionary
/// lookup and a few interlocked increments on the caller's thread: no lock, no allocation once an operation has been
/// seen, no I/O. <see cref="ServiceMetricsCollector"/> drains it every interval into ClickHouse in one INSERT.
/// The number of distinct operation × tenant entries is bounded; past the bound, calls count under operation
/// <c>other</c> so memory cannot grow with what callers send.
/// </summary>
public sealed class ServiceMetrics(IOptions<AnalyticsOptions> options)
{
    /// <summary>HTTP requests, by route template.</summary>
    public const string HttpService = "http";

    /// <summary>Grain calls, by interface and method.</summary>
    public const string GrainService = "grain";

    /// <summary>Most entries kept between two collections.</summary>
    public const int MaxEntries = 20_000;

    private readonly ConcurrentDictionary<Key, Entry> _entries = new();
    private readonly bool _enabled = options.Value.ServiceMetrics;

    /// <summary>Whether service metrics are collected (Phantom:Analytics:ServiceMetrics).</summary>
    public bool Enabled => _enabled;

    /// <summary>Counts one call that started at <paramref name="startTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public void Record(string service, string operation, TenantAttribution tenant, long startTimestamp, CallOutcome outcome)
    {
        if (!_enabled)
        {
            return;
        }

        var micros = (long)Stopwatch.GetElapsedTime(startTimestamp).TotalMicroseconds;
        var key = new Key(service, operation, tenant);
        if (!_entries.TryGetValue(key, out var entry))
        {
            entry = _entries.Count < MaxEntries ? _entries.GetOrAdd(key, _ => new Entry())
                : _entries.GetOrAdd(new Key(service, "other", TenantAttribution.None), _ => new Entry());
        }

        entry.Record(micros, outcome);
    }

    /// <summary>
    /// Takes every count recorded since the previous drain. Counters are swapped to zero one by one, so a call recorded
    /// meanwhile lands either in this drain or in the next one, never in neither. Entries stay for the next interval.
    /// </summary>
    public List<OperationInterval> Drain()
    {
        var drained = new List<OperationInterval>();
        foreach (var (key, entry) in _entries)
        {
            if (entry.Drain(key) is { } interval)
            {
                drained.Add(interval);
            }
        }

        return drained;
    }

    private readonly record struct Key(string Service, string Operation, TenantAttribution Tenant);

    private sealed class Entry
    {
        private readonly LatencyHistogram _latency = new();
        private long _calls;
        private long _clientErrors;
        private long _serverErrors;
        private long _latencyMicros;

        public void Record(long micros, CallOutcome outcome)
        {
            _latency.Record(micros / 1000.0);
            Interlocked.Add(ref _latencyMicros, micros);
            switch (outcome)
            {
                case CallOutcome.ClientError: Interlocked.Increment(ref _clientErrors); break;
                case CallOutcome.ServerError: Interlocked.Increment(ref _serverErrors); break;
                case CallOutcome.Success: break;
            }

            Interlocked.Increment(ref _calls); // last: a drain that sees the call also sees its latency
        }

        public OperationInterval? Drain(Key key)
        {
            if (Volatile.Read(ref _calls) == 0)
            {
                return null;
            }

            var calls = Interlocked.Exchange(ref _calls, 0);
            return new OperationInterval(key.Service, key.Operation, key.Tenant, calls, Interlocked.Exchange(ref _clientErrors, 0),
                Interlocked.Exchange(ref _serverErrors, 0), Interlocked.Exchange(ref _latencyMicros, 0) / 1000.0, _latency.Drain());
        }
    }
}

/// <summary>One operation's calls for one tenant over one collection interval.</summary>
public sealed record OperationInterval(
    string Service,
    string Operation,
    TenantAttribution Tenant,
    long Calls,
    long ClientErrors,
    long ServerErrors,
    double LatencySumMs,
    List<(int Bucket, long Count)> Latency);
