using System.Collections.Concurrent;

namespace PhantomMl.Grains.Security;

/// <summary>
/// Who a presented API key belongs to, remembered by each silo so that a hot path (predictions) does not ask
/// PostgreSQL on every call, without weakening "a revoked key is refused on the very next call, on every silo": a
/// remembered caller is trusted only while the cluster's <see cref="CredentialEpoch"/> is the one it was read under,
/// and every change that narrows rights moves the epoch, on every silo, before it is acknowledged. Reading the epoch costs
/// no round trip while the silo's lease holds (see <see cref="CredentialEpoch"/>). The epoch is read before the
/// PostgreSQL lookup, so a change that commits during the lookup still invalidates the entry. When the epoch cannot be
/// read, nothing is trusted; entries also expire after <see cref="EntryLifetime"/>.
/// </summary>
public sealed class CredentialCache(CredentialEpoch epoch, TimeProvider time)
{
    /// <summary>The longest a remembered caller is trusted even if no epoch change reaches this silo.</summary>
    public static readonly TimeSpan EntryLifetime = TimeSpan.FromSeconds(60);

    private const int Capacity = 100_000;
    private readonly ConcurrentDictionary<string, Entry> _callers = new(StringComparer.Ordinal);

    /// <summary>The current epoch, or null when it cannot be known (then nothing may be trusted).</summary>
    public Task<long?> ReadEpochAsync() => epoch.ReadAsync();

    /// <summary>The caller remembered for <paramref name="keyIdentity"/> under <paramref name="current"/>, if still valid.</summary>
    public Caller? Find(string keyIdentity, long? current)
    {
        var now = time.GetUtcNow();
        return current is { } value && _callers.TryGetValue(keyIdentity, out var entry) && entry.Epoch == value && entry.Until > now
            ? entry.Caller
            : null;
    }

    /// <summary>Remembers a caller read from PostgreSQL under <paramref name="current"/> (not at all when it is unknown).</summary>
    public void Remember(string keyIdentity, long? current, Caller caller, DateTimeOffset? keyExpiresAt)
    {
        if (current is not { } value)
        {
            return;
        }

        if (_callers.Count >= Capacity)
        {
            _callers.Clear();
        }

        var until = time.GetUtcNow() + EntryLifetime;
        _callers[keyIdentity] = new Entry(caller, value, keyExpiresAt is { } expires && expires < until ? expires : until);
    }

    /// <summary>
    /// Makes every silo forget every remembered caller: called after a change to keys, users or tenants commits, before
    /// the change is acknowledged.
    /// </summary>
    public async Task ForgetAllAsync()
    {
        _callers.Clear();
        await epoch.AdvanceAsync();
    }

    private sealed record Entry(Caller Caller, long Epoch, DateTimeOffset Until);
}
