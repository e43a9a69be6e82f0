using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace PhantomMl.Silo.Extensions;

/// <summary>
/// The HTTP front end's first line against guessing keys, in ASP.NET Core's rate limiting middleware: a client address
/// whose requests failed authentication (401) more than the limit in the current window gets 429 with Retry-After,
/// before its request reaches anything, until the window ends. Successful requests never use it up. The grains count
/// failures cluster-wide too (per key prefix and address), so this per-silo limiter only turns a flood away cheaply.
/// </summary>
public sealed class FailedAuthenticationLimiter(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, (long Window, int Failures)> _failures = new(StringComparer.Ordinal);

    /// <summary>Failures tolerated per address and window.</summary>
    public int Limit { get; set; } = 50;

    /// <summary>The window failures are counted in.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Counts one failed authentication from <paramref name="address"/>.</summary>
    public void RecordFailure(string address)
    {
        var window = CurrentWindow().Index;
        if (_failures.Count > 100_000)
        {
            _failures.Clear(); // bounded the blunt way: forgetting only lets some failures through again
        }

        _failures.AddOrUpdate(address, _ => (window, 1), (_, entry) => entry.Window == window ? (window, entry.Failures + 1) : (window, 1));
    }

    /// <summary>The limiter of one address, for the middleware's partition.</summary>
    public RateLimiter For(string address) => new AddressLimiter(this, address);

    private bool IsBlocked(string address, out TimeSpan retryAfter)
    {
        var (index, left) = CurrentWindow();
        retryAfter = left;
        return _failures.TryGetValue(address, out var entry) && entry.Window == index && entry.Failures >= Limit;
    }

    private (long Index, TimeSpan Left) CurrentWindow()
    {
        var now = time.GetUtcNow().UtcTicks;
        var index = now / Window.Ticks;
        return (index, TimeSpan.FromTicks(((index + 1) * Window.Ticks) - now));
    }

    /// <summary>Grants every request of an address that is not blocked; a blocked one is refused with its retry-after.</summary>
    private sealed class AddressLimiter(FailedAuthenticationLimiter owner, string address) : RateLimiter
    {
        public override TimeSpan? IdleDuration => TimeSpan.Zero;

        public override RateLimiterStatistics? GetStatistics() => null;

        protected override RateLimitLease AttemptAcquireCore(int permitCount) =>
            owner.IsBlocked(address, out var retryAfter) ? new Lease(false, retryAfter) : new Lease(true, null);

        protected override ValueTask<RateLimitLease> AcquireAsyncCore(int permitCount, CancellationToken cancellationToken) =>
            ValueTask.FromResult(AttemptAcquireCore(permitCount));
    }

    private sealed class Lease(bool acquired, TimeSpan? retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => acquired;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }
}
